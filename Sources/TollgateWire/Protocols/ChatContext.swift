import TollgateCore

/// What a protocol knows about one attempt: the endpoint it encodes for and the options of the
/// request. It holds no credentials; `ResolvedProvider.chatContext(...)` builds it.
public struct ChatContext: Sendable {
    /// Where the request goes.
    public var endpoint: UpstreamEndpoint
    /// The model id the upstream is asked for (after `NAME/` and aliases are resolved).
    public var upstreamModel: String
    public var stream: Bool
    /// The client asked for a usage chunk (`stream_options.include_usage`).
    public var clientWantsUsage: Bool
    /// Ask for a usage chunk in streams even when the client did not (it is not forwarded then).
    public var streamUsage: Bool
    /// The model's largest output in tokens, from the catalog (Anthropic requires max_tokens).
    public var maxOutputTokens: Int?
    /// Used in synthesized chunk and completion ids.
    public var requestID: String
    /// Unix seconds, for `created` fields the provider does not supply.
    public var created: Int
    /// The protocol of the attempt, kept only for the old relay's `context.provider.chat`.
    var relayChat: (any ChatProtocol)?

    public init(endpoint: UpstreamEndpoint, upstreamModel: String, stream: Bool, clientWantsUsage: Bool,
                streamUsage: Bool = true, maxOutputTokens: Int? = nil, requestID: String = "tollgate", created: Int = 0) {
        self.endpoint = endpoint
        self.upstreamModel = upstreamModel
        self.stream = stream
        self.clientWantsUsage = clientWantsUsage
        self.streamUsage = streamUsage
        self.maxOutputTokens = maxOutputTokens
        self.requestID = requestID
        self.created = created
    }
}
