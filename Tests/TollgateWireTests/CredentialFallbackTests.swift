import Testing
import TollgateCore
@testable import TollgateWire

/// Keys left out of the config come from each type's conventional environment variables; a
/// literal key still works but is named in a warning (never its value).
@Suite struct CredentialFallbackTests {
    static func resolve(_ json: String, _ environment: [String: String]) throws -> (providers: [ResolvedProvider], warnings: [String]) {
        try WireRegistry.resolve(try Config.parse(Array(json.utf8)), environment: environment)
    }

    @Test(arguments: [
        ("openai", "OPENAI_API_KEY"), ("anthropic", "ANTHROPIC_API_KEY"), ("gemini", "GEMINI_API_KEY"),
        ("gemini", "GOOGLE_API_KEY"), ("openrouter", "OPENROUTER_API_KEY"), ("groq", "GROQ_API_KEY"),
        ("mistral", "MISTRAL_API_KEY"), ("deepseek", "DEEPSEEK_API_KEY"), ("xai", "XAI_API_KEY"),
        ("together", "TOGETHER_API_KEY"), ("fireworks", "FIREWORKS_API_KEY"), ("vllm", "VLLM_API_KEY"),
        ("qwen", "DASHSCOPE_API_KEY"), ("zhipu", "ZAI_API_KEY"), ("moonshot", "MOONSHOT_API_KEY"),
        ("perplexity", "PERPLEXITY_API_KEY"), ("cerebras", "CEREBRAS_API_KEY"), ("sambanova", "SAMBANOVA_API_KEY"),
        ("nebius", "NEBIUS_API_KEY"), ("huggingface", "HF_TOKEN"), ("nvidia", "NVIDIA_API_KEY"), ("llamacpp", "LLAMA_API_KEY"),
    ])
    func anOmittedKeyComesFromTheTypesVariable(type: String, variable: String) throws {
        let json = #"{"providers": {"p": {"type": "\#(type)"}}}"#
        let p = try #require(try Self.resolve(json, [variable: "key-from-env"]).providers.first)
        #expect(p.credentials.apiKey == "key-from-env")
        #expect(p.isEnabled)
    }

    @Test func azureReadsTheAzureOpenAIVariables() throws {
        let json = #"{"providers": {"az": {"type": "azure", "deployment": "gpt4o"}}}"#
        let env = ["AZURE_OPENAI_API_KEY": "az-key", "AZURE_OPENAI_ENDPOINT": "https://r.openai.azure.com",
                   "OPENAI_API_VERSION": "2024-10-21"]
        let p = try #require(try Self.resolve(json, env).providers.first)
        #expect(p.credentials.apiKey == "az-key")
        #expect(p.url(path: "/chat/completions") == "https://r.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-10-21")
    }

    @Test func cloudflareAndVertexReadTheirNonSecretFieldsToo() throws {
        let cf = try #require(try Self.resolve(#"{"providers": {"cf": {"type": "cloudflare"}}}"#,
                                               ["CLOUDFLARE_API_TOKEN": "cf-token", "CLOUDFLARE_ACCOUNT_ID": "acc123"]).providers.first)
        #expect(cf.credentials.apiKey == "cf-token")
        #expect(cf.baseURL == "https://api.cloudflare.com/client/v4/accounts/acc123/ai/v1")
        let vertex = try #require(try Self.resolve(#"{"providers": {"v": {"type": "google_vertex", "api_key": "env:T"}}}"#,
                                                   ["T": "tok", "GOOGLE_CLOUD_PROJECT": "proj", "GOOGLE_CLOUD_LOCATION": "europe-west4"]).providers.first)
        #expect(vertex.baseURL.hasPrefix("https://europe-west4-aiplatform.googleapis.com/v1/projects/proj/locations/europe-west4/"))
    }

    @Test func bedrockReadsTheAWSVariablesAndRegion() throws {
        let json = #"{"providers": {"aws": {"type": "bedrock"}}}"#
        let env = ["AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret", "AWS_SESSION_TOKEN": "tok",
                   "AWS_REGION": "eu-central-1"]
        let p = try #require(try Self.resolve(json, env).providers.first)
        #expect(p.credentials.accessKeyID == "AKIDEXAMPLE")
        #expect(p.credentials.secretAccessKey == "secret")
        #expect(p.credentials.sessionToken == "tok")
        #expect(p.baseURL == "https://bedrock-runtime.eu-central-1.amazonaws.com")
        #expect(p.isEnabled)
        let bearer = try #require(try Self.resolve(json, ["AWS_BEARER_TOKEN_BEDROCK": "bk", "AWS_DEFAULT_REGION": "us-west-2"]).providers.first)
        #expect(bearer.credentials.apiKey == "bk")
        #expect(bearer.baseURL == "https://bedrock-runtime.us-west-2.amazonaws.com")
    }

    @Test func aConfiguredSecretTurnsTheFallbackOff() throws {
        // access_key_id is configured: no other secret field is taken from the environment.
        let json = #"{"providers": {"aws": {"type": "bedrock", "region": "us-east-1", "access_key_id": "env:AK"}}}"#
        let p = try #require(try Self.resolve(json, ["AK": "AKID", "AWS_SECRET_ACCESS_KEY": "s", "AWS_BEARER_TOKEN_BEDROCK": "b"]).providers.first)
        #expect(p.credentials.secretAccessKey == nil)
        #expect(p.credentials.apiKey == nil)
        #expect(!p.isEnabled)
    }

    @Test func aMissingVariableNamesItInTheWarning() throws {
        let (providers, warnings) = try Self.resolve(#"{"providers": {"g": {"type": "gemini"}}}"#, [:])
        #expect(providers.first?.isEnabled == false)
        #expect(warnings == [#"provider "g" is disabled: api_key: not configured, and GEMINI_API_KEY / GOOGLE_API_KEY are not set"#])
        let local = try Self.resolve(#"{"providers": {"o": {"type": "ollama"}, "c": {"type": "openai_compatible", "base_url": "http://127.0.0.1:1/v1"}}}"#,
                                     ["OPENAI_API_KEY": "x"])
        #expect(local.providers[0].isEnabled)
        #expect(local.providers[1].credentials.apiKey == nil)
    }

    @Test func aLiteralKeyWorksWithAWarningThatHidesIt() throws {
        let json = #"{"providers": {"oa": {"type": "openai", "api_key": "sk-literal-0123456789"}, "env": {"type": "openai", "api_key": "env:K"}}}"#
        let (providers, warnings) = try Self.resolve(json, ["K": "v"])
        #expect(providers[0].credentials.apiKey == "sk-literal-0123456789")
        #expect(warnings == ["providers.oa.api_key is a literal secret in the config file; prefer env:VAR, file:PATH (mode 600) or credential:NAME (README, Configuration)"])
        #expect(!warnings.joined().contains("sk-literal"))
    }

    @Test func aByokProviderWithoutAKeyStaysEnabledForClientKeys() throws {
        let json = #"{"providers": {"b": {"type": "openai", "byok": true}, "own": {"type": "openai", "api_key": "env:K", "byok": true}}}"#
        let (providers, warnings) = try Self.resolve(json, ["K": "own-key"])
        #expect(warnings.isEmpty)
        #expect(providers[0].isEnabled && providers[0].byok && providers[0].needsClientKey)
        #expect(providers[1].byok && !providers[1].needsClientKey)
        let withKey = providers[0].withClientKey("client-key")
        #expect(withKey.credentials.apiKey == "client-key" && !withKey.needsClientKey)
        #expect(throws: ConfigError.self) { try Self.resolve(#"{"providers": {"b": {"type": "openai", "byok": "yes"}}}"#, [:]) }
    }
}
