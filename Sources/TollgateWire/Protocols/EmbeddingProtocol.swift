import TollgateCore

/// A wire protocol for embeddings: pure encode/decode, no I/O.
public protocol EmbeddingProtocol: Sendable {
    /// The registry name (`openai_embed`, ...).
    var name: String { get }
    /// The protocol takes token ids as input (OpenAI's `[int]` and `[[int]]`).
    var acceptsTokenInput: Bool { get }
    func encode(_ request: EmbeddingRequestInput, upstreamModel: String, endpoint: UpstreamEndpoint) throws(GatewayError)
        -> UpstreamRequest
    func decodeResponse(status: Int, headers: HTTPHeaders, body: [UInt8]) throws(GatewayError) -> EmbeddingResult
    /// An upstream error status and body as one classified failure, its error keeping the provider's message.
    func decodeFailure(status: Int, headers: HTTPHeaders, body: [UInt8]) -> UpstreamFailure
}

extension EmbeddingProtocol {
    public var acceptsTokenInput: Bool { false }
}
