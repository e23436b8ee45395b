import TollgateCore

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
    /// Longest silence of the upstream after its head; nil: `failover.idle_timeout_seconds`.
    public var idleTimeoutSeconds: Double?
    /// Why the provider cannot be used (a missing credential), or nil when it is enabled.
    public var disabledReason: String?
    /// Ask for a usage chunk in streams even when the client did not (it is not forwarded then).
    public var streamUsage = true
    /// Extra attempts on this provider after a retryable failure, before the next candidate.
    public var retries = 1
    /// A request's own key (header `x-tollgate-provider-key`) replaces the configured one (`"byok"`).
    public var byok = false
    /// A `byok` provider without a key of its own: it serves only requests that bring one.
    public var needsClientKey = false
    /// A subscription or CLI sign-in provider (its type's `subscription`): $0, never over budget.
    public var subscription = false
    /// Per attempt: the session a signing-in auth strategy prepared (`AuthStrategy.readiness`).
    public var session: SessionCredential?
    /// Per attempt: the bearer token the client sent, for strategies that pass it through.
    /// Never stored beyond the request, never logged.
    public var clientBearer: String?

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

    /// This provider for one attempt with `session`: its token, and its base URL when it names one.
    public func signedIn(_ session: SessionCredential?) -> ResolvedProvider {
        guard let session else { return self }
        var p = self
        p.session = session
        if let base = session.baseURL { p.baseURL = base }
        return p
    }

    /// Where the provider's requests go, without its credentials: all of it an encoder sees.
    public var endpoint: UpstreamEndpoint { UpstreamEndpoint(baseURL: baseURL, query: query) }

    /// `baseURL + path`, with the provider's query string (and `extraQuery`) appended.
    public func url(path: String, extraQuery: String? = nil) -> String {
        endpoint.url(path: path, extraQuery: extraQuery)
    }

    /// Builds the full upstream request for a chat attempt: protocol encoding, extra headers, auth.
    public func upstreamRequest(for input: ChatRequestInput, context: ChatContext) throws(GatewayError) -> UpstreamRequest {
        var request = try chat.encode(input, context: context)
        finish(&request)
        return request
    }

    /// This provider with a request's own key (`byok`): the key replaces every configured
    /// credential for that request only.
    public func withClientKey(_ key: String) -> ResolvedProvider {
        var copy = self
        copy.credentials = ProviderCredentials(apiKey: key)
        copy.needsClientKey = false
        return copy
    }

    /// Adds configured headers, timeouts and credentials to an encoded request.
    public func finish(_ request: inout UpstreamRequest) {
        for (name, value) in headers { request.headers.set(name, value) }
        request.connectTimeoutSeconds = connectTimeoutSeconds
        request.timeoutSeconds = timeoutSeconds
        auth.apply(to: &request, provider: self)
    }
}
