import TollgateCore

/// Converse's error answers, read by the shared `Bedrock.failure(status:headers:body:)`.
extension BedrockConverse {
    public func decodeFailure(status: Int, headers: HTTPHeaders, body: [UInt8]) -> UpstreamFailure {
        Bedrock.failure(status: status, headers: headers, body: body)
    }
}
