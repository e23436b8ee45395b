import TollgateCore

// The shapes `ChatRelay` and `EmbeddingRelay` (being replaced by the exchange) still call.
// Each forwards to the current API; delete this file together with the two relays.

extension ChatContext {
    /// The old relay's context for a provider; the same as `provider.chatContext(...)`.
    public init(upstreamModel: String, stream: Bool, clientWantsUsage: Bool, provider: ResolvedProvider,
                maxOutputTokens: Int? = nil, requestID: String = "tollgate", created: Int = 0) {
        self = provider.chatContext(upstreamModel: upstreamModel, stream: stream, clientWantsUsage: clientWantsUsage,
                                    maxOutputTokens: maxOutputTokens, requestID: requestID, created: created)
    }

    /// The old relay's `context.provider.chat`: the protocol of the attempt, without credentials.
    public var provider: RelayProtocols { RelayProtocols(chat: relayChat ?? OpenAIChat()) }

    /// What `context.provider` offers the old relay.
    public struct RelayProtocols: Sendable {
        public var chat: any ChatProtocol
    }
}

extension ChatProtocol {
    /// The old relay's error call: the classified failure's error.
    public func decodeError(status: Int, headers: HTTPHeaders, body: [UInt8]) -> GatewayError {
        decodeFailure(status: status, headers: headers, body: body).error
    }
}

extension EmbeddingProtocol {
    /// The old relay's error call: the classified failure's error.
    public func decodeError(status: Int, headers: HTTPHeaders, body: [UInt8]) -> GatewayError {
        decodeFailure(status: status, headers: headers, body: body).error
    }

    /// The old relay's encode call, with the whole provider: only its endpoint is passed on.
    public func encode(_ request: EmbeddingRequestInput, upstreamModel: String, provider: ResolvedProvider)
        throws(GatewayError) -> UpstreamRequest
    {
        try encode(request, upstreamModel: upstreamModel, endpoint: provider.endpoint)
    }
}
