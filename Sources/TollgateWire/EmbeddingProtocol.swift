import TollgateCore

/// A client's embeddings request (OpenAI's `/v1/embeddings` body).
public struct EmbeddingRequestInput: Sendable {
    public var json: JSONValue
    public var rawBody: [UInt8]
    public var model: String
    /// The texts to embed (a single string input becomes one item).
    public var inputs: [String]
    /// `float` or `base64` (little-endian float32), as the client asked.
    public var encodingFormat: String
    public var dimensions: Int?

    public init(json: JSONValue, rawBody: [UInt8], model: String, inputs: [String], encodingFormat: String,
                dimensions: Int?) {
        self.json = json
        self.rawBody = rawBody
        self.model = model
        self.inputs = inputs
        self.encodingFormat = encodingFormat
        self.dimensions = dimensions
    }
}

/// The embedding vectors of an answer, in input order, and the tokens counted.
public struct EmbeddingResult: Sendable {
    public var vectors: [[Float]]
    public var promptTokens: Int
    public init(vectors: [[Float]], promptTokens: Int) {
        self.vectors = vectors
        self.promptTokens = promptTokens
    }
}

/// A wire protocol for embeddings: pure encode/decode, no I/O.
public protocol EmbeddingProtocol: Sendable {
    var name: String { get }
    func encode(_ request: EmbeddingRequestInput, upstreamModel: String, provider: ResolvedProvider) throws(GatewayError)
        -> UpstreamRequest
    func decodeResponse(status: Int, headers: HTTPHeaders, body: [UInt8]) throws(GatewayError) -> EmbeddingResult
    func decodeError(status: Int, headers: HTTPHeaders, body: [UInt8]) -> GatewayError
}
