import Testing
import TollgateCore
@testable import TollgateWire

@Suite struct WireRegistryTests {
    /// Every declared provider type names protocols and an auth strategy the registry knows.
    @Test(arguments: WireRegistry.providerTypes.keys.sorted()) func providerTypeIsComplete(_ name: String) throws {
        let type = try #require(WireRegistry.providerTypes[name])
        #expect(WireRegistry.chatProtocols[type.protocolName] != nil)
        #expect(type.embedProtocolName.map { WireRegistry.embeddingProtocols[$0] != nil } ?? true)
        #expect(WireRegistry.authStrategies[type.authName] != nil)
        for field in type.fields where type.baseURL != nil && field.required {
            #expect(type.baseURL!.contains("{\(field.name)}") || type.query?.contains("{\(field.name)}") == true)
        }
    }

    /// The hosted types added for the provider table: each reaches its documented endpoint with a bearer key.
    @Test(arguments: [
        ("qwen", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions"),
        ("zhipu", "https://api.z.ai/api/paas/v4/chat/completions"),
        ("moonshot", "https://api.moonshot.ai/v1/chat/completions"),
        ("perplexity", "https://api.perplexity.ai/chat/completions"),
        ("cerebras", "https://api.cerebras.ai/v1/chat/completions"),
        ("sambanova", "https://api.sambanova.ai/v1/chat/completions"),
        ("nebius", "https://api.tokenfactory.nebius.com/v1/chat/completions"),
        ("huggingface", "https://router.huggingface.co/v1/chat/completions"),
        ("nvidia", "https://integrate.api.nvidia.com/v1/chat/completions"),
        ("llamacpp", "http://127.0.0.1:8080/v1/chat/completions"),
    ])
    func hostedTypesReachTheirEndpoints(type: String, url: String) throws {
        let config = try Config.parse(Array(#"{"providers": {"p": {"type": "\#(type)", "api_key": "k-1"}}}"#.utf8))
        let provider = try #require(try WireRegistry.resolve(config, environment: [:]).providers.first)
        #expect(provider.isEnabled)
        let context = provider.chatContext(upstreamModel: "m", stream: false, clientWantsUsage: false, maxOutputTokens: nil,
                                           requestID: "r", created: 0)
        let request = try provider.upstreamRequest(for: chatInput(["model": "m", "messages": [["role": "user", "content": "hi"]]]),
                                                   context: context)
        #expect(request.url == url)
        #expect(request.headers["Authorization"] == "Bearer k-1")
    }

    @Test func cloudflareAndVertexPutTheirFieldsInTheURL() throws {
        let config = try Config.parse(Array("""
            {"providers": {"cf": {"type": "cloudflare", "account_id": "acc 1", "api_key": "t"},
                           "vx": {"type": "google_vertex", "project": "proj", "location": "europe-west4", "api_key": "ya29.x"},
                           "vg": {"type": "google_vertex", "project": "proj", "location": "global", "api_key": "ya29.x"}}}
            """.utf8))
        let (providers, warnings) = try WireRegistry.resolve(config, environment: [:])
        #expect(warnings.filter { !$0.contains("literal secret") }.isEmpty)
        let input = chatInput(["model": "gemini-3.8-flash", "messages": [["role": "user", "content": "hi"]]])
        func url(_ p: ResolvedProvider, stream: Bool = false) throws -> String {
            let context = p.chatContext(upstreamModel: "gemini-3.8-flash", stream: stream, clientWantsUsage: false,
                                        maxOutputTokens: nil, requestID: "r", created: 0)
            return try p.upstreamRequest(for: input, context: context).url
        }
        #expect(try url(providers[0]) == "https://api.cloudflare.com/client/v4/accounts/acc%201/ai/v1/chat/completions")
        #expect(try url(providers[1])
            == "https://europe-west4-aiplatform.googleapis.com/v1/projects/proj/locations/europe-west4/publishers/google/models/gemini-3.8-flash:generateContent")
        #expect(try url(providers[2], stream: true)
            == "https://aiplatform.googleapis.com/v1/projects/proj/locations/global/publishers/google/models/gemini-3.8-flash:streamGenerateContent?alt=sse")
        #expect(ModelCatalog.bundled.entry(providerType: "google_vertex", model: "gemini-3.8-flash") != nil)
        #expect(WireRegistry.providerTypes.count >= 28)
    }

    @Test func fieldsOfAnotherTypeAreNamedInAWarning() throws {
        let config = try Config.parse(Array("""
            {"providers": {"oa": {"type": "openai", "api_key": "k", "region": "eu-west-1"},
                           "aws": {"type": "bedrock", "api_key": "k", "region": "eu-west-1"}}}
            """.utf8))
        let (_, warnings) = try WireRegistry.resolve(config, environment: [:])
        #expect(warnings.filter { !$0.contains("literal secret") } == ["providers.oa.region is not used by type openai and is ignored"])
        #expect(WireRegistry.providerTypes["azure"]?.requiredFields == ["endpoint", "deployment", "api_version"])
    }

    /// Dropping parameters is the protocol's decision; the body sent no longer holds them.
    @Test func unsupportedParametersAreDroppedByTheProtocol() throws {
        let json: JSONValue = ["model": "m", "messages": [["role": "user", "content": "hi"]], "seed": 7, "n": 1]
        let (input, dropped) = AnthropicMessages().accepting(chatInput(json))
        #expect(dropped == ["seed", "n"])
        #expect(input.json["seed"] == nil)
        #expect(try JSONValue.parse(input.rawBody)["n"] == nil)
        #expect(OpenAIChat().accepting(chatInput(json)).dropped.isEmpty)
        let provider = testProvider(type: "anthropic", chat: AnthropicMessages())
        #expect(provider.acceptedChatInput(chatInput(json)).dropped == ["seed", "n"])
    }

    /// An encoder sees the endpoint, never the credentials.
    @Test func contextCarriesTheEndpointOnly() {
        let provider = testProvider(baseURL: "https://azure.test/openai/deployments/d", query: "api-version=1")
        let context = testContext(model: "m", provider: provider)
        #expect(context.endpoint == UpstreamEndpoint(baseURL: "https://azure.test/openai/deployments/d", query: "api-version=1"))
        #expect(context.endpoint.url(path: "/chat/completions")
            == "https://azure.test/openai/deployments/d/chat/completions?api-version=1")
    }

    /// The upstream URL: base + path, then the provider's query and a protocol's extra query,
    /// joined by `&` after one `?`; empty parts are left out.
    @Test func upstreamURLsJoinTheirQueryParts() {
        let plain = UpstreamEndpoint(baseURL: "http://127.0.0.1:1/v1")
        #expect(plain.url(path: "/chat") == "http://127.0.0.1:1/v1/chat")
        #expect(plain.url(path: "/chat", extraQuery: "alt=sse") == "http://127.0.0.1:1/v1/chat?alt=sse")
        #expect(plain.url(path: "/chat", extraQuery: "") == "http://127.0.0.1:1/v1/chat")
        let versioned = UpstreamEndpoint(baseURL: "https://h/openai", query: "api-version=1")
        #expect(versioned.url(path: "/x") == "https://h/openai/x?api-version=1")
        #expect(versioned.url(path: "/x", extraQuery: "alt=sse") == "https://h/openai/x?api-version=1&alt=sse")
        let empty = UpstreamEndpoint(baseURL: "https://h", query: "")
        #expect(empty.url(path: "/x", extraQuery: "alt=sse") == "https://h/x?alt=sse")
    }

    /// The bearer header value is built once and follows the key when it changes.
    @Test func bearerValueFollowsTheKey() {
        var credentials = ProviderCredentials(apiKey: "k1")
        #expect(credentials.bearerAuthorization == "Bearer k1")
        credentials.apiKey = "k2"
        #expect(credentials.bearerAuthorization == "Bearer k2")
        credentials.apiKey = nil
        #expect(credentials.bearerAuthorization == nil)
        #expect(ProviderCredentials().bearerAuthorization == nil)
    }
}

