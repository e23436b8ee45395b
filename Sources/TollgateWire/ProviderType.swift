import TollgateCore

/// A provider type's defaults: the base URL its official SDK uses, its wire protocol and auth.
public struct ProviderType: Sendable {
    public var name: String
    public var defaultBaseURL: String?
    public var protocolName: String
    public var authName: String
    public var notes: String

    public init(name: String, defaultBaseURL: String?, protocolName: String, authName: String, notes: String = "") {
        self.name = name
        self.defaultBaseURL = defaultBaseURL
        self.protocolName = protocolName
        self.authName = authName
        self.notes = notes
    }
}

/// A provider with its type's defaults applied and its credential read: what the gateway uses.
public struct ResolvedProvider: Sendable {
    public var name: String
    public var type: String
    public var baseURL: String
    public var chat: any ChatProtocol
    public var auth: any AuthStrategy
    public var credential: String?
    public var priority: Int
    /// Position in the config file, to break priority ties.
    public var order: Int
    public var models: [String]
    public var headers: [(String, String)]
    public var timeoutSeconds: Double
    public var connectTimeoutSeconds: Double
    /// Why the provider cannot be used (a missing credential), or nil when it is enabled.
    public var disabledReason: String?

    public var isEnabled: Bool { disabledReason == nil }

    /// Builds the full upstream request for an attempt: protocol encoding, extra headers, auth.
    public func upstreamRequest(for input: ChatRequestInput, context: ChatContext) throws(GatewayError) -> UpstreamRequest {
        var request = try chat.encode(input, context: context)
        for (name, value) in headers { request.headers.set(name, value) }
        auth.apply(to: &request, credential: credential)
        return request
    }
}
