import TollgateCore

/// Gemini's error answers for chat, read by the shared `Gemini.failure(status:headers:body:)`.
extension GeminiChat {
    public func decodeFailure(status: Int, headers: HTTPHeaders, body: [UInt8]) -> UpstreamFailure {
        Gemini.failure(status: status, headers: headers, body: body)
    }
}
