import TollgateCore

/// A wire protocol for embeddings: pure encode/decode, no I/O.
public protocol EmbeddingProtocol: Sendable {
    /// The registry name (`openai_embed`, ...).
    var name: String { get }
    func encode(_ request: EmbeddingRequestInput, upstreamModel: String, endpoint: UpstreamEndpoint) throws(GatewayError)
        -> UpstreamRequest
    func decodeResponse(status: Int, headers: HTTPHeaders, body: [UInt8]) throws(GatewayError) -> EmbeddingResult
    /// An upstream error status and body as one classified failure, its error keeping the provider's message.
    func decodeFailure(status: Int, headers: HTTPHeaders, body: [UInt8]) -> UpstreamFailure
}
