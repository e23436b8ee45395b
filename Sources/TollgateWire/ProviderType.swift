import TollgateCore

/// A provider type's defaults: the base URL its official SDK uses, its wire protocols and auth,
/// and the config fields it needs. `{field}` in a URL template is replaced by that field's value.
public struct ProviderType: Sendable {
    public var name: String
    /// Base URL template, e.g. `https://bedrock-runtime.{region}.amazonaws.com`; nil means base_url is required.
    public var baseURL: String?
    /// Query string template appended to every request URL (Azure's `api-version={api_version}`).
    public var query: String?
    public var protocolName: String
    public var embedProtocolName: String?
    public var authName: String
    /// Config fields that must be present (besides credentials).
    public var requiredFields: [String]
    public var notes: String
    /// Whether an OpenAI-style upstream accepts `stream_options.include_usage` (so tollgate can
    /// always get usage in streams).
    public var streamUsage = true

    public init(name: String, baseURL: String?, query: String? = nil, protocolName: String,
                embedProtocolName: String? = nil, authName: String, requiredFields: [String] = [], notes: String = "") {
        self.name = name
        self.baseURL = baseURL
        self.query = query
        self.protocolName = protocolName
        self.embedProtocolName = embedProtocolName
        self.authName = authName
        self.requiredFields = requiredFields
        self.notes = notes
    }
}

/// Secrets of one provider, read from their `env:`/`file:`/literal references.
public struct ProviderCredentials: Sendable {
    public var apiKey: String?
    public var accessKeyID: String?
    public var secretAccessKey: String?
    public var sessionToken: String?
    /// Why a configured secret could not be read, by field name.
    public var problems: [String: String] = [:]

    public init(apiKey: String? = nil, accessKeyID: String? = nil, secretAccessKey: String? = nil,
                sessionToken: String? = nil) {
        self.apiKey = apiKey
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// Config keys that hold secrets.
    public static let fieldNames = ["api_key", "access_key_id", "secret_access_key", "session_token"]

    /// The reason a field is missing: its read problem, or that it is not configured.
    public func missing(_ field: String) -> String {
        problems[field].map { "\(field): \($0)" } ?? "no \(field) configured"
    }
}

/// A provider with its type's defaults applied and its credentials read: what the gateway uses.
public struct ResolvedProvider: Sendable {
    public var name: String
    public var type: String
    /// Base URL without a trailing slash; protocols append their path.
    public var baseURL: String
    /// Query string (without `?`) appended to every request URL, or nil.
    public var query: String?
    public var chat: any ChatProtocol
    public var embed: (any EmbeddingProtocol)?
    public var auth: any AuthStrategy
    public var credentials: ProviderCredentials
    /// Other string fields of the provider's config object (`region`, `deployment`, ...).
    public var fields: [String: String]
    public var priority: Int
    /// Position in the config file, to break priority ties.
    public var order: Int
    public var models: [String]
    public var headers: [(String, String)]
    public var timeoutSeconds: Double
    public var connectTimeoutSeconds: Double
    /// Why the provider cannot be used (a missing credential), or nil when it is enabled.
    public var disabledReason: String?
    /// Ask for a usage chunk in streams even when the client did not (it is not forwarded then).
    public var streamUsage = true
    /// Extra attempts on this provider after a retryable failure, before the next candidate.
    public var retries = 1

    public init(name: String, type: String, baseURL: String, query: String? = nil, chat: any ChatProtocol,
                embed: (any EmbeddingProtocol)? = nil, auth: any AuthStrategy,
                credentials: ProviderCredentials = ProviderCredentials(), fields: [String: String] = [:],
                priority: Int = 1, order: Int = 0, models: [String] = [], headers: [(String, String)] = [],
                timeoutSeconds: Double = 600, connectTimeoutSeconds: Double = 10, disabledReason: String? = nil) {
        self.name = name
        self.type = type
        self.baseURL = baseURL
        self.query = query
        self.chat = chat
        self.embed = embed
        self.auth = auth
        self.credentials = credentials
        self.fields = fields
        self.priority = priority
        self.order = order
        self.models = models
        self.headers = headers
        self.timeoutSeconds = timeoutSeconds
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.disabledReason = disabledReason
    }

    public var isEnabled: Bool { disabledReason == nil }

    /// `baseURL + path`, with the provider's query string (and `extraQuery`) appended.
    public func url(path: String, extraQuery: String? = nil) -> String {
        let parts = [query, extraQuery].compactMap { $0 }.filter { !$0.isEmpty }
        return baseURL + path + (parts.isEmpty ? "" : "?" + parts.joined(separator: "&"))
    }

    /// Builds the full upstream request for a chat attempt: protocol encoding, extra headers, auth.
    public func upstreamRequest(for input: ChatRequestInput, context: ChatContext) throws(GatewayError) -> UpstreamRequest {
        var request = try chat.encode(input, context: context)
        finish(&request)
        return request
    }

    /// Adds configured headers, timeouts and credentials to an encoded request.
    public func finish(_ request: inout UpstreamRequest) {
        for (name, value) in headers { request.headers.set(name, value) }
        request.connectTimeoutSeconds = connectTimeoutSeconds
        request.timeoutSeconds = timeoutSeconds
        auth.apply(to: &request, provider: self)
    }
}
