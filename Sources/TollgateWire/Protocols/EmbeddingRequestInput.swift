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
    /// The input was token ids (`[int]` or `[[int]]`) rather than text; `inputs` then holds
    /// nothing to read, only one placeholder per item (for counts), and `tokenCounts` their sizes.
    public var tokenCounts: [Int]?

    /// How many embeddings the request asks for.
    public var count: Int { tokenCounts?.count ?? inputs.count }

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
