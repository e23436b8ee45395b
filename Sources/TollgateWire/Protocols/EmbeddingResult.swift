/// The embedding vectors of an answer, in input order, and the tokens counted.
public struct EmbeddingResult: Sendable {
    public var vectors: [[Float]]
    public var promptTokens: Int
    public init(vectors: [[Float]], promptTokens: Int) {
        self.vectors = vectors
        self.promptTokens = promptTokens
    }
}
