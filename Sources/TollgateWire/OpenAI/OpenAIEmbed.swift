import TollgateCore

/// `openai_embed`: OpenAI's `/embeddings`, spoken by OpenAI, Azure and OpenAI-compatible servers.
/// Reference: https://platform.openai.com/docs/api-reference/embeddings (wire-formats.md §1).
public struct OpenAIEmbed: EmbeddingProtocol {
    public let name = "openai_embed"
    /// The body passes through, so token-id input reaches servers that take it.
    public var acceptsTokenInput: Bool { true }
    public init() {}

    public func encode(_ request: EmbeddingRequestInput, upstreamModel: String,
                       endpoint: UpstreamEndpoint) throws(GatewayError) -> UpstreamRequest {
        var json = request.json
        json["model"] = .string(upstreamModel)
        // Ask for floats: tollgate re-encodes to what the client asked, and every server supports them.
        json["encoding_format"] = "float"
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        return UpstreamRequest(url: endpoint.url(path: "/embeddings"), headers: headers, body: json.serialized())
    }

    public func decodeResponse(status: Int, headers: HTTPHeaders, body: [UInt8]) throws(GatewayError) -> EmbeddingResult {
        guard let json = try? JSONValue.parse(body), let data = json["data"]?.arrayValue else {
            throw GatewayError.badGateway("The upstream embeddings answer has no \"data\" list.", code: "invalid_upstream_response")
        }
        var vectors = [[Float]](repeating: [], count: data.count)
        for (position, item) in data.enumerated() {
            let index = item["index"]?.intValue ?? position
            guard index >= 0, index < data.count else {
                throw GatewayError.badGateway("The upstream embeddings answer has an index out of range.")
            }
            if let values = item["embedding"]?.arrayValue {
                vectors[index] = values.map { Float($0.doubleValue ?? 0) }
            } else if let text = item["embedding"]?.stringValue, let decoded = EmbeddingEncoding.decodeBase64(text) {
                vectors[index] = decoded
            } else {
                throw GatewayError.badGateway("The upstream embeddings answer has an item without an embedding.")
            }
        }
        return EmbeddingResult(vectors: vectors, promptTokens: json["usage"]?["prompt_tokens"]?.intValue ?? 0)
    }

    public func decodeFailure(status: Int, headers: HTTPHeaders, body: [UInt8]) -> UpstreamFailure {
        OpenAIChat().decodeFailure(status: status, headers: headers, body: body)
    }
}
