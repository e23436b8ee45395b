import Foundation
import TollgateCore

/// Maps protocol, auth and provider-type names to implementations. Adding a provider is a
/// protocol file plus a line here; nothing in the gateway names a provider.
public enum WireRegistry {
    public static let chatProtocols: [String: any ChatProtocol] = [
        "openai_chat": OpenAIChat(),
        "anthropic_messages": AnthropicMessages(),
        "google_gemini": GeminiChat(),
        "bedrock_converse": BedrockConverse(),
        "openai_responses": OpenAIResponses(),
    ]

    public static let embeddingProtocols: [String: any EmbeddingProtocol] = [
        "openai_embed": OpenAIEmbed(),
        "gemini_embed": GeminiEmbed(),
        "bedrock_embed": BedrockEmbed(),
    ]

    public static let authStrategies: [String: any AuthStrategy] = [
        "bearer": BearerAuth(),
        "none": NoAuth(),
        "optional": OptionalBearerAuth(),
        "azure": HeaderKeyAuth(name: "azure", header: "api-key"),
        "google": HeaderKeyAuth(name: "google", header: "x-goog-api-key"),
        "anthropic": HeaderKeyAuth(name: "anthropic", header: "x-api-key",
                                   extraHeaders: [("anthropic-version", "2023-06-01")]),
        "bedrock": BedrockAuth(),
    ]

    public static let providerTypes: [String: ProviderType] = {
        let types: [ProviderType] = [
            ProviderType(name: "openai", baseURL: "https://api.openai.com/v1", protocolName: "openai_chat",
                         embedProtocolName: "openai_embed", authName: "bearer"),
            ProviderType(name: "openai_compatible", baseURL: nil, protocolName: "openai_chat",
                         embedProtocolName: "openai_embed", authName: "bearer", notes: "any OpenAI-compatible server"),
            ProviderType(name: "openrouter", baseURL: "https://openrouter.ai/api/v1", protocolName: "openai_chat",
                         embedProtocolName: "openai_embed", authName: "bearer"),
            ProviderType(name: "groq", baseURL: "https://api.groq.com/openai/v1", protocolName: "openai_chat",
                         authName: "bearer"),
            {
                // Mistral reports usage in its last chunk by itself and rejects unknown fields.
                var t = ProviderType(name: "mistral", baseURL: "https://api.mistral.ai/v1", protocolName: "openai_chat",
                                     embedProtocolName: "openai_embed", authName: "bearer")
                t.streamUsage = false
                return t
            }(),
            ProviderType(name: "deepseek", baseURL: "https://api.deepseek.com", protocolName: "openai_chat",
                         authName: "bearer"),
            ProviderType(name: "xai", baseURL: "https://api.x.ai/v1", protocolName: "openai_chat", authName: "bearer"),
            ProviderType(name: "together", baseURL: "https://api.together.xyz/v1", protocolName: "openai_chat",
                         embedProtocolName: "openai_embed", authName: "bearer"),
            ProviderType(name: "fireworks", baseURL: "https://api.fireworks.ai/inference/v1",
                         protocolName: "openai_chat", embedProtocolName: "openai_embed", authName: "bearer"),
            ProviderType(name: "ollama", baseURL: "http://127.0.0.1:11434/v1", protocolName: "openai_chat",
                         embedProtocolName: "openai_embed", authName: "none", notes: "local, no key"),
            ProviderType(name: "lmstudio", baseURL: "http://127.0.0.1:1234/v1", protocolName: "openai_chat",
                         embedProtocolName: "openai_embed", authName: "none", notes: "local, no key"),
            ProviderType(name: "vllm", baseURL: "http://127.0.0.1:8000/v1", protocolName: "openai_chat",
                         embedProtocolName: "openai_embed", authName: "optional",
                         notes: "local; key only if vLLM was started with --api-key"),
            ProviderType(name: "azure", baseURL: "{endpoint}/openai/deployments/{deployment}",
                         query: "api-version={api_version}", protocolName: "openai_chat",
                         embedProtocolName: "openai_embed", authName: "azure",
                         requiredFields: ["endpoint", "deployment", "api_version"],
                         notes: "the deployment picks the model"),
            ProviderType(name: "anthropic", baseURL: "https://api.anthropic.com", protocolName: "anthropic_messages",
                         authName: "anthropic"),
            ProviderType(name: "gemini", baseURL: "https://generativelanguage.googleapis.com", protocolName: "google_gemini",
                         embedProtocolName: "gemini_embed", authName: "google", notes: "Gemini API (AI Studio) key"),
            ProviderType(name: "bedrock", baseURL: "https://bedrock-runtime.{region}.amazonaws.com",
                         protocolName: "bedrock_converse", embedProtocolName: "bedrock_embed", authName: "bedrock",
                         requiredFields: ["region"], notes: "AWS Bedrock Runtime; a Bedrock API key or an access key pair"),
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
            let provider = try resolve(p, order: order, environment: environment)
            if let why = provider.disabledReason { warnings.append("provider \"\(p.name)\" is disabled: \(why)") }
            resolved.append(provider)
        }
        return (resolved, warnings)
    }

    static func resolve(_ p: ProviderConfig, order: Int, environment: [String: String]) throws(ConfigError) -> ResolvedProvider {
        let path = "providers.\(p.name)"
        guard let type = providerTypes[p.type] else {
            throw ConfigError(key: "\(path).type",
                              problem: "unknown provider type \"\(p.type)\"; known types: \(providerTypes.keys.sorted().joined(separator: ", "))")
        }
        var fields: [String: String] = [:]
        for (key, value) in p.raw.entries where !ProviderCredentials.fieldNames.contains(key) {
            if let text = value.stringValue { fields[key] = text }
        }
        for field in type.requiredFields where (fields[field] ?? "").isEmpty {
            throw ConfigError(key: "\(path).\(field)", problem: "is required for type \(p.type)")
        }
        guard let template = p.baseURL ?? type.baseURL else {
            throw ConfigError(key: "\(path).base_url", problem: "is required for type \(p.type)")
        }
        var baseURL = fill(template, fields)
        while baseURL.hasSuffix("/") { baseURL.removeLast() }
        guard baseURL.hasPrefix("http://") || baseURL.hasPrefix("https://") else {
            throw ConfigError(key: "\(path).\(p.baseURL == nil ? "endpoint" : "base_url")",
                              problem: "must start with http:// or https://")
        }
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
        var credentials = ProviderCredentials()
        for field in ProviderCredentials.fieldNames {
            guard let value = p.raw[field] else { continue }
            guard let text = value.stringValue else {
                throw ConfigError(key: "\(path).\(field)", problem: "must be a string (a literal, env:VAR or file:PATH)")
            }
            switch SecretReference(text).resolve(environment: environment) {
            case .success(let secret):
                switch field {
                case "api_key": credentials.apiKey = secret
                case "access_key_id": credentials.accessKeyID = secret
                case "secret_access_key": credentials.secretAccessKey = secret
                default: credentials.sessionToken = secret
                }
            case .failure(let why):
                credentials.problems[field] = why.problem
            }
        }
        var provider = ResolvedProvider(
            name: p.name, type: p.type, baseURL: baseURL, query: type.query.map { fill($0, fields) }, chat: chat,
            embed: type.embedProtocolName.flatMap { embeddingProtocols[$0] }, auth: auth, credentials: credentials,
            fields: fields, priority: p.priority, order: order, models: p.models, headers: p.headers,
            timeoutSeconds: p.timeoutSeconds, connectTimeoutSeconds: p.connectTimeoutSeconds,
            disabledReason: auth.missingCredential(credentials))
        provider.streamUsage = p.streamUsage ?? type.streamUsage
        provider.retries = p.retries
        return provider
    }

    /// Replaces `{field}` placeholders; endpoint values lose a trailing slash first.
    static func fill(_ template: String, _ fields: [String: String]) -> String {
        var out = template
        for (key, value) in fields where out.contains("{\(key)}") {
            var v = value
            while v.hasSuffix("/") { v.removeLast() }
            out = out.replacingOccurrences(of: "{\(key)}", with: v)
        }
        return out
    }
}
