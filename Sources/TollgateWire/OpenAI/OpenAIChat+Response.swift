import TollgateCore

/// A `chat.completion` passes through as the upstream sent it; a scan checks it and finds its
/// `usage`, the only member that is parsed.
extension OpenAIChat {
    public func decodeResponse(status: Int, headers: HTTPHeaders, body: [UInt8],
                               context: ChatContext) throws(GatewayError) -> ChatResult {
        guard let scan = try? JSONScan.scan(body), scan.isObject else {
            throw GatewayError.badGateway("The upstream answered HTTP \(status) with a body that is not a JSON object.",
                                          code: "invalid_upstream_response")
        }
        let (error, choices, usage) = body.withUnsafeBytes { raw in
            (scan.range(of: "error", in: raw), scan.range(of: "choices", in: raw), scan.range(of: "usage", in: raw))
        }
        if let error, body[error.lowerBound] != UInt8(ascii: "n"), choices == nil {
            throw decodeFailure(status: 502, headers: headers, body: body).error
        }
        return ChatResult(body: body, usage: usage.flatMap { range in
            body.withUnsafeBytes { Usage(openAIBytes: UnsafeRawBufferPointer(rebasing: $0[range])) }
        })
    }
}
