/// The provider types that speak OpenAI Chat Completions (`openai_chat`, `openai_embed`).
extension ProviderType {
    /// `keyVariable`: the environment variable an omitted `api_key` is read from.
    static func openAIStyle(_ name: String, _ baseURL: String?, embeddings: Bool = true, auth: String = "bearer",
                            keyVariable: String? = nil, notes: String = "") -> ProviderType {
        var type = ProviderType(name: name, baseURL: baseURL, protocolName: "openai_chat",
                                embedProtocolName: embeddings ? "openai_embed" : nil, authName: auth, notes: notes)
        if let keyVariable { type.environment = ["api_key": [keyVariable]] }
        return type
    }

    static let openAI = openAIStyle("openai", "https://api.openai.com/v1", keyVariable: "OPENAI_API_KEY")
    static let openAICompatible = openAIStyle("openai_compatible", nil, notes: "any OpenAI-compatible server")
    static let openRouter = openAIStyle("openrouter", "https://openrouter.ai/api/v1", keyVariable: "OPENROUTER_API_KEY")
    static let groq = openAIStyle("groq", "https://api.groq.com/openai/v1", embeddings: false, keyVariable: "GROQ_API_KEY")
    /// Mistral reports usage in its last chunk by itself and rejects unknown fields.
    static let mistral: ProviderType = {
        var type = openAIStyle("mistral", "https://api.mistral.ai/v1", keyVariable: "MISTRAL_API_KEY")
        type.streamUsage = false
        return type
    }()
    static let deepSeek = openAIStyle("deepseek", "https://api.deepseek.com", embeddings: false,
                                      keyVariable: "DEEPSEEK_API_KEY")
    static let xAI = openAIStyle("xai", "https://api.x.ai/v1", embeddings: false, keyVariable: "XAI_API_KEY")
    static let together = openAIStyle("together", "https://api.together.xyz/v1", keyVariable: "TOGETHER_API_KEY")
    static let fireworks = openAIStyle("fireworks", "https://api.fireworks.ai/inference/v1", keyVariable: "FIREWORKS_API_KEY")
    static let ollama = openAIStyle("ollama", "http://127.0.0.1:11434/v1", auth: "none", notes: "local, no key")
    static let lmStudio = openAIStyle("lmstudio", "http://127.0.0.1:1234/v1", auth: "none", notes: "local, no key")
    static let vLLM = openAIStyle("vllm", "http://127.0.0.1:8000/v1", auth: "optional", keyVariable: "VLLM_API_KEY",
                                  notes: "local; key only if vLLM was started with --api-key")
    /// The variables the openai SDK's `AzureOpenAI` client reads.
    static let azure: ProviderType = {
        var type = ProviderType(
            name: "azure", baseURL: "{endpoint}/openai/deployments/{deployment}", query: "api-version={api_version}",
            protocolName: "openai_chat", embedProtocolName: "openai_embed", authName: "azure",
            fields: [ProviderField("endpoint", summary: "https://RESOURCE.openai.azure.com"),
                     ProviderField("deployment", summary: "the deployment name; it picks the model"),
                     ProviderField("api_version", summary: "e.g. 2024-10-21")],
            notes: "the deployment picks the model")
        type.environment = ["api_key": ["AZURE_OPENAI_API_KEY"], "endpoint": ["AZURE_OPENAI_ENDPOINT"],
                            "api_version": ["OPENAI_API_VERSION"]]
        return type
    }()
}
