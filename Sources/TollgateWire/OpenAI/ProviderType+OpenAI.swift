/// The provider types that speak OpenAI Chat Completions (`openai_chat`, `openai_embed`).
extension ProviderType {
    static func openAIStyle(_ name: String, _ baseURL: String?, embeddings: Bool = true, auth: String = "bearer",
                            notes: String = "") -> ProviderType {
        ProviderType(name: name, baseURL: baseURL, protocolName: "openai_chat",
                     embedProtocolName: embeddings ? "openai_embed" : nil, authName: auth, notes: notes)
    }

    static let openAI = openAIStyle("openai", "https://api.openai.com/v1")
    static let openAICompatible = openAIStyle("openai_compatible", nil, notes: "any OpenAI-compatible server")
    static let openRouter = openAIStyle("openrouter", "https://openrouter.ai/api/v1")
    static let groq = openAIStyle("groq", "https://api.groq.com/openai/v1", embeddings: false)
    /// Mistral reports usage in its last chunk by itself and rejects unknown fields.
    static let mistral: ProviderType = {
        var type = openAIStyle("mistral", "https://api.mistral.ai/v1")
        type.streamUsage = false
        return type
    }()
    static let deepSeek = openAIStyle("deepseek", "https://api.deepseek.com", embeddings: false)
    static let xAI = openAIStyle("xai", "https://api.x.ai/v1", embeddings: false)
    static let together = openAIStyle("together", "https://api.together.xyz/v1")
    static let fireworks = openAIStyle("fireworks", "https://api.fireworks.ai/inference/v1")
    static let ollama = openAIStyle("ollama", "http://127.0.0.1:11434/v1", auth: "none", notes: "local, no key")
    static let lmStudio = openAIStyle("lmstudio", "http://127.0.0.1:1234/v1", auth: "none", notes: "local, no key")
    static let vLLM = openAIStyle("vllm", "http://127.0.0.1:8000/v1", auth: "optional",
                                  notes: "local; key only if vLLM was started with --api-key")
    static let azure = ProviderType(
        name: "azure", baseURL: "{endpoint}/openai/deployments/{deployment}", query: "api-version={api_version}",
        protocolName: "openai_chat", embedProtocolName: "openai_embed", authName: "azure",
        fields: [ProviderField("endpoint", summary: "https://RESOURCE.openai.azure.com"),
                 ProviderField("deployment", summary: "the deployment name; it picks the model"),
                 ProviderField("api_version", summary: "e.g. 2024-10-21")],
        notes: "the deployment picks the model")
}
