import TollgateCore

/// Maps protocol, auth and provider-type names to implementations. Adding a provider is a
/// protocol file plus a line here; nothing in the gateway names a provider.
public enum WireRegistry {
    public static let chatProtocols: [String: any ChatProtocol] = [
        "openai_chat": OpenAIChat(),
    ]

    public static let authStrategies: [String: any AuthStrategy] = [
        "bearer": BearerAuth(),
        "none": NoAuth(),
        "optional": OptionalBearerAuth(),
    ]

    public static let providerTypes: [String: ProviderType] = {
        let types: [ProviderType] = [
            ProviderType(name: "openai", defaultBaseURL: "https://api.openai.com/v1", protocolName: "openai_chat",
                         authName: "bearer"),
            ProviderType(name: "openai_compatible", defaultBaseURL: nil, protocolName: "openai_chat",
                         authName: "bearer", notes: "base_url required"),
            ProviderType(name: "openrouter", defaultBaseURL: "https://openrouter.ai/api/v1", protocolName: "openai_chat",
                         authName: "bearer"),
            ProviderType(name: "groq", defaultBaseURL: "https://api.groq.com/openai/v1", protocolName: "openai_chat",
                         authName: "bearer"),
            ProviderType(name: "mistral", defaultBaseURL: "https://api.mistral.ai/v1", protocolName: "openai_chat",
                         authName: "bearer"),
            ProviderType(name: "deepseek", defaultBaseURL: "https://api.deepseek.com", protocolName: "openai_chat",
                         authName: "bearer"),
            ProviderType(name: "xai", defaultBaseURL: "https://api.x.ai/v1", protocolName: "openai_chat",
                         authName: "bearer"),
            ProviderType(name: "together", defaultBaseURL: "https://api.together.xyz/v1", protocolName: "openai_chat",
                         authName: "bearer"),
            ProviderType(name: "fireworks", defaultBaseURL: "https://api.fireworks.ai/inference/v1",
                         protocolName: "openai_chat", authName: "bearer"),
            ProviderType(name: "ollama", defaultBaseURL: "http://127.0.0.1:11434/v1", protocolName: "openai_chat",
                         authName: "none", notes: "local, no key"),
            ProviderType(name: "lmstudio", defaultBaseURL: "http://127.0.0.1:1234/v1", protocolName: "openai_chat",
                         authName: "none", notes: "local, no key"),
            ProviderType(name: "vllm", defaultBaseURL: "http://127.0.0.1:8000/v1", protocolName: "openai_chat",
                         authName: "optional", notes: "local; key only if started with --api-key"),
        ]
        return Dictionary(uniqueKeysWithValues: types.map { ($0.name, $0) })
    }()

    /// Applies each provider's type defaults, checks names against the registry and reads
    /// credentials. A missing credential disables the provider (with a warning), it does not fail.
    public static func resolve(_ config: Config, environment: [String: String]) throws(ConfigError)
        -> (providers: [ResolvedProvider], warnings: [String])
    {
        var resolved: [ResolvedProvider] = []
        var warnings: [String] = config.unknownKeys.map { "unknown config key \"\($0)\" is ignored" }
        for (order, p) in config.providers.enumerated() {
            let path = "providers.\(p.name)"
            guard let type = providerTypes[p.type] else {
                throw ConfigError(key: "\(path).type",
                                  problem: "unknown provider type \"\(p.type)\"; known types: \(providerTypes.keys.sorted().joined(separator: ", "))")
            }
            guard var baseURL = p.baseURL ?? type.defaultBaseURL else {
                throw ConfigError(key: "\(path).base_url", problem: "is required for type \(p.type)")
            }
            while baseURL.hasSuffix("/") { baseURL.removeLast() }
            let protocolName = p.protocolName ?? type.protocolName
            guard let chat = chatProtocols[protocolName] else {
                throw ConfigError(key: "\(path).protocol",
                                  problem: "unknown protocol \"\(protocolName)\"; known: \(chatProtocols.keys.sorted().joined(separator: ", "))")
            }
            let authName = p.authName ?? type.authName
            guard let auth = authStrategies[authName] else {
                throw ConfigError(key: "\(path).auth",
                                  problem: "unknown auth \"\(authName)\"; known: \(authStrategies.keys.sorted().joined(separator: ", "))")
            }
            var credential: String?
            var disabled: String?
            if let reference = p.apiKey {
                switch reference.resolve(environment: environment) {
                case .success(let value): credential = value
                case .failure(let why):
                    if auth.requiresCredential { disabled = "api_key: \(why.problem)" }
                }
            } else if auth.requiresCredential {
                disabled = "no api_key configured"
            }
            if let disabled { warnings.append("provider \"\(p.name)\" is disabled: \(disabled)") }
            resolved.append(ResolvedProvider(
                name: p.name, type: p.type, baseURL: baseURL, chat: chat, auth: auth, credential: credential,
                priority: p.priority, order: order, models: p.models, headers: p.headers,
                timeoutSeconds: p.timeoutSeconds, connectTimeoutSeconds: p.connectTimeoutSeconds,
                disabledReason: disabled))
        }
        return (resolved, warnings)
    }
}
