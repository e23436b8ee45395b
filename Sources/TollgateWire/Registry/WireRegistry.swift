import TollgateCore

/// Maps protocol, auth and provider-type names to implementations. Adding a provider is its
/// family's file (protocols and `ProviderType`) plus a line here; nothing in the gateway names a provider.
public enum WireRegistry {
    public static let chatProtocols: [String: any ChatProtocol] = [
        "openai_chat": OpenAIChat(),
        "anthropic_messages": AnthropicMessages(),
        "google_gemini": GeminiChat(),
        "google_vertex": GeminiChat(name: "google_vertex", apiVersion: ""),
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
        "google_vertex": VertexAuth(),
        "anthropic_subscription": AnthropicSubscriptionAuth(),
        "codex": CodexAuth(),
        "github_copilot": CopilotAuth(),
    ]

    /// Every provider type, by name. A new provider type is declared in its family's folder and listed here.
    public static let providerTypes: [String: ProviderType] = {
        let types: [ProviderType] = [
            .openAI, .openAICompatible, .openRouter, .groq, .mistral, .deepSeek, .xAI, .together, .fireworks,
            .ollama, .lmStudio, .vLLM, .azure,
            .qwen, .zhipu, .moonshot, .cloudflare, .perplexity, .cerebras, .sambaNova, .nebius, .huggingFace, .nvidia,
            .llamaCpp,
            .anthropic,
            .gemini, .googleVertex,
            .bedrock,
            .anthropicSubscription, .codex, .githubCopilot,
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
            let provider = try resolve(p, order: order, environment: environment, credentialsDir: config.credentialsDir)
            if let why = provider.disabledReason { warnings.append("provider \"\(p.name)\" is disabled: \(why)") }
            for field in ProviderCredentials.fieldNames {
                if let text = p.raw[field]?.stringValue, case .literal = SecretReference(text) {
                    warnings.append("providers.\(p.name).\(field) is a literal secret in the config file; "
                        + "prefer env:VAR, file:PATH (mode 600) or credential:NAME (README, Configuration)")
                }
            }
            warnings += unusedFields(p).map { "providers.\(p.name).\($0) is not used by type \(p.type) and is ignored" }
            resolved.append(provider)
        }
        return (resolved, warnings)
    }

    static func resolve(_ p: ProviderConfig, order: Int, environment: [String: String],
                        credentialsDir: String? = nil) throws(ConfigError) -> ResolvedProvider {
        let path = "providers.\(p.name)"
        guard let type = providerTypes[p.type] else {
            throw ConfigError(key: "\(path).type",
                              problem: "unknown provider type \"\(p.type)\"; known types: \(providerTypes.keys.sorted().joined(separator: ", "))")
        }
        var fields: [String: String] = [:]
        for (key, value) in p.raw.entries where !ProviderCredentials.fieldNames.contains(key) {
            if let text = value.stringValue { fields[key] = text }
        }
        // Fields left out come from the type's conventional environment variables.
        for (field, variables) in type.environment where !ProviderCredentials.fieldNames.contains(field) && fields[field] == nil {
            if let value = variables.lazy.compactMap({ environment[$0] }).first(where: { !$0.isEmpty }) { fields[field] = value }
        }
        for field in type.requiredFields where (fields[field] ?? "").isEmpty {
            throw ConfigError(key: "\(path).\(field)", problem: "is required for type \(p.type)")
        }
        for field in type.fields {
            if let allowed = field.allowed, let value = fields[field.name], !allowed.contains(value) {
                throw ConfigError(key: "\(path).\(field.name)", problem: "must be one of \(allowed.joined(separator: ", "))")
            }
        }
        guard let template = p.baseURL ?? type.baseURL else {
            throw ConfigError(key: "\(path).base_url", problem: "is required for type \(p.type)")
        }
        for (key, value) in fields where key != "endpoint" && (template + (type.query ?? "")).contains("{\(key)}") {
            // Values placed in the URL become one encoded segment; a dot segment or a control character is refused.
            if let problem = PathSegment.problem(value) {
                throw ConfigError(key: "\(path).\(key)", problem: "cannot be part of the upstream URL: \(problem)")
            }
        }
        var baseURL = fill(template, fields)
        for (from, to) in type.baseURLAliases where baseURL.hasPrefix(from) { baseURL = to + baseURL.dropFirst(from.count) }
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
        // No secret field configured: the type's environment variables (OPENAI_API_KEY, ...).
        let fromEnvironment = !ProviderCredentials.fieldNames.contains { p.raw[$0] != nil }
        for field in ProviderCredentials.fieldNames {
            let text: String
            if let value = p.raw[field] {
                guard let string = value.stringValue else {
                    throw ConfigError(key: "\(path).\(field)",
                                      problem: "must be a string (a literal, env:VAR, file:PATH or credential:NAME)")
                }
                text = string
            } else if fromEnvironment, let variables = type.environment[field] {
                guard let name = variables.first(where: { !(environment[$0] ?? "").isEmpty }) else {
                    credentials.problems[field] = "not configured, and \(variables.joined(separator: " / ")) "
                        + (variables.count == 1 ? "is" : "are") + " not set"
                    continue
                }
                text = "env:\(name)"
            } else {
                continue
            }
            switch SecretReference(text).resolve(environment: environment, credentialsDir: credentialsDir) {
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
        if p.byok {
            // Requests may bring the key (x-tollgate-provider-key); without a key of its own the
            // provider serves only those.
            provider.byok = true
            provider.needsClientKey = provider.disabledReason != nil
            provider.disabledReason = nil
        }
        provider.streamUsage = p.streamUsage ?? type.streamUsage
        provider.subscription = type.subscription
        provider.retries = p.retries
        provider.idleTimeoutSeconds = p.idleTimeoutSeconds
        return provider
    }

    /// Keys of `p` that some provider type declares but its own type does not (`region` on an `openai` provider).
    static func unusedFields(_ p: ProviderConfig) -> [String] {
        guard let type = providerTypes[p.type] else { return [] }
        let declared = Set(providerTypes.values.flatMap { $0.fields.map(\.name) })
        let own = Set(type.fields.map(\.name))
        return p.raw.entries.map(\.0).filter { declared.contains($0) && !own.contains($0) }
    }

    /// Replaces `{field}` placeholders. `endpoint` is a URL and goes in as it is (without a
    /// trailing slash); every other value (a deployment, a region, an API version) is
    /// percent-encoded, so it stays one path segment, host label or query value.
    static func fill(_ template: String, _ fields: [String: String]) -> String {
        var out = template
        for (key, value) in fields where out.contains("{\(key)}") {
            var v = value
            while v.hasSuffix("/") { v.removeLast() }
            out = out.replacing("{\(key)}", with: key == "endpoint" ? v : PathSegment.percentEncode(v))
        }
        return out
    }
}
