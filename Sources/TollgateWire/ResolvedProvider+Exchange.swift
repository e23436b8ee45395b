import TollgateCore

/// What the gateway's exchange asks of a provider: the context of an attempt, the request
/// without the parameters its protocol cannot carry, the finished upstream request, and an
/// upstream error classified as one `UpstreamFailure`.
extension ResolvedProvider {
    public func chatContext(upstreamModel: String, stream: Bool, clientWantsUsage: Bool, maxOutputTokens: Int?,
                            requestID: String, created: Int) -> ChatContext {
        ChatContext(upstreamModel: upstreamModel, stream: stream, clientWantsUsage: clientWantsUsage, provider: self,
                    maxOutputTokens: maxOutputTokens, requestID: requestID, created: created)
    }

    /// The request without the parameters this provider's chat protocol cannot carry, and their names.
    public func acceptedChatInput(_ input: ChatRequestInput) -> (input: ChatRequestInput, dropped: [String]) {
        guard let accepted = chat.acceptedParameters, case .object(var object) = input.json else { return (input, []) }
        let dropped = object.keys.filter { !accepted.contains($0) }
        guard !dropped.isEmpty else { return (input, []) }
        for key in dropped { object[key] = nil }
        var copy = input
        copy.json = .object(object)
        return (copy, dropped)
    }

    /// The full upstream request for an embeddings attempt; nil when the provider has no embeddings protocol.
    public func embeddingRequest(for input: EmbeddingRequestInput, upstreamModel: String) throws(GatewayError)
        -> UpstreamRequest?
    {
        guard let embed else { return nil }
        var request = try embed.encode(input, upstreamModel: upstreamModel, provider: self)
        finish(&request)
        return request
    }

    /// An upstream chat error status and body, classified.
    public func chatFailure(status: Int, headers: HTTPHeaders, body: [UInt8]) -> UpstreamFailure {
        .http(status: status, error: chat.decodeError(status: status, headers: headers, body: body))
    }

    /// An upstream embeddings error status and body, classified.
    public func embeddingFailure(status: Int, headers: HTTPHeaders, body: [UInt8]) -> UpstreamFailure {
        let error = embed?.decodeError(status: status, headers: headers, body: body)
            ?? chat.decodeError(status: status, headers: headers, body: body)
        return .http(status: status, error: error)
    }
}
