import TollgateCore

/// A `chat.completion` passes through; only its usage is read.
extension OpenAIChat {
    public func decodeResponse(status: Int, headers: HTTPHeaders, body: [UInt8],
                               context: ChatContext) throws(GatewayError) -> ChatResult {
        guard let json = try? JSONValue.parse(body), case .object = json else {
            throw GatewayError.badGateway("The upstream answered HTTP \(status) with a body that is not a JSON object.",
                                          code: "invalid_upstream_response")
        }
        if json["error"] != nil, json["choices"] == nil {
            throw decodeFailure(status: 502, headers: headers, body: body).error
        }
        return ChatResult(body: body, usage: Usage(openAI: json["usage"]))
    }
}
