/// Hosted services that speak OpenAI Chat Completions (and, some, embeddings) at their own base URL.
extension ProviderType {
    static let qwen = openAIStyle("qwen", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1", keyVariable: "DASHSCOPE_API_KEY",
                                  notes: "Alibaba Cloud Model Studio (DashScope), OpenAI-compatible mode; in mainland China set base_url https://dashscope.aliyuncs.com/compatible-mode/v1")
    static let zhipu = openAIStyle("zhipu", "https://api.z.ai/api/paas/v4", embeddings: false, keyVariable: "ZAI_API_KEY",
                                   notes: "Z.ai GLM; in mainland China set base_url https://open.bigmodel.cn/api/paas/v4")
    static let moonshot = openAIStyle("moonshot", "https://api.moonshot.ai/v1", embeddings: false, keyVariable: "MOONSHOT_API_KEY",
                                      notes: "Kimi; in mainland China set base_url https://api.moonshot.cn/v1")
    /// Workers AI: the account id is part of every URL; the key is an API token.
    static let cloudflare: ProviderType = {
        var type = ProviderType(
            name: "cloudflare", baseURL: "https://api.cloudflare.com/client/v4/accounts/{account_id}/ai/v1",
            protocolName: "openai_chat", embedProtocolName: "openai_embed", authName: "bearer",
            fields: [ProviderField("account_id", summary: "the Cloudflare account id (not secret)")],
            notes: "Workers AI; api_key is a Workers AI API token")
        type.environment = ["api_key": ["CLOUDFLARE_API_TOKEN"], "account_id": ["CLOUDFLARE_ACCOUNT_ID"]]
        return type
    }()
    static let perplexity = openAIStyle("perplexity", "https://api.perplexity.ai", embeddings: false, keyVariable: "PERPLEXITY_API_KEY",
                                        notes: "Sonar; each request also carries a search fee the token prices do not show")
    static let cerebras = openAIStyle("cerebras", "https://api.cerebras.ai/v1", embeddings: false, keyVariable: "CEREBRAS_API_KEY")
    static let sambaNova = openAIStyle("sambanova", "https://api.sambanova.ai/v1", embeddings: false, keyVariable: "SAMBANOVA_API_KEY")
    static let nebius = openAIStyle("nebius", "https://api.tokenfactory.nebius.com/v1", keyVariable: "NEBIUS_API_KEY", notes: "Nebius Token Factory")
    static let huggingFace = openAIStyle("huggingface", "https://router.huggingface.co/v1", embeddings: false, keyVariable: "HF_TOKEN",
                                         notes: "Inference Providers router; api_key is a Hugging Face token")
    static let nvidia = openAIStyle("nvidia", "https://integrate.api.nvidia.com/v1", keyVariable: "NVIDIA_API_KEY", notes: "NVIDIA NIM API catalog")
    /// llama.cpp's `llama-server`: no key unless it was started with `--api-key`.
    static let llamaCpp = openAIStyle("llamacpp", "http://127.0.0.1:8080/v1", auth: "optional", keyVariable: "LLAMA_API_KEY",
                                      notes: "local llama.cpp server; key only if started with --api-key")
}
