import TollgateCore

/// What the gateway's exchange asks of a provider: the context of an attempt, the request
/// without the parameters its protocol cannot carry, the finished upstream request, and an
/// upstream error classified as one `UpstreamFailure`. Each forwards to the protocols.
extension ResolvedProvider {
    /// The context an attempt is encoded and decoded in: this provider's endpoint and options, no credentials.
    public func chatContext(upstreamModel: String, stream: Bool, clientWantsUsage: Bool, maxOutputTokens: Int?,
                            requestID: String, created: Int) -> ChatContext {
        var context = ChatContext(endpoint: endpoint, upstreamModel: upstreamModel, stream: stream,
                                  clientWantsUsage: clientWantsUsage, streamUsage: streamUsage,
                                  maxOutputTokens: maxOutputTokens, requestID: requestID, created: created)
        context.relayChat = chat
        return context
    }

    /// The request without the parameters this provider's chat protocol cannot carry, and their names.
    public func acceptedChatInput(_ input: ChatRequestInput) -> (input: ChatRequestInput, dropped: [String]) {
        chat.accepting(input)
    }

    /// The full upstream request for an embeddings attempt; nil when the provider has no embeddings protocol.
    public func embeddingRequest(for input: EmbeddingRequestInput, upstreamModel: String) throws(GatewayError)
        -> UpstreamRequest?
    {
        guard let embed else { return nil }
        var request = try embed.encode(input, upstreamModel: upstreamModel, endpoint: endpoint)
        finish(&request)
        return request
    }

    /// An upstream chat error status and body, classified by the chat protocol.
    public func chatFailure(status: Int, headers: HTTPHeaders, body: [UInt8]) -> UpstreamFailure {
        chat.decodeFailure(status: status, headers: headers, body: body)
    }

    /// An upstream embeddings error status and body, classified by the embeddings protocol (else the chat one).
    public func embeddingFailure(status: Int, headers: HTTPHeaders, body: [UInt8]) -> UpstreamFailure {
        embed?.decodeFailure(status: status, headers: headers, body: body)
            ?? chat.decodeFailure(status: status, headers: headers, body: body)
    }
}
