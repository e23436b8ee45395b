import TollgateCore

/// `gemini_embed`: the Gemini API's `batchEmbedContents`, one request per input text, answered
/// in input order. The developer API reports no token counts for embeddings, so `promptTokens` is 0.
/// Reference: https://ai.google.dev/api/embeddings#method:-models.batchembedcontents (wire-formats.md §4.6).
public struct GeminiEmbed: EmbeddingProtocol {
    public let name = "gemini_embed"
    public init() {}

    public func encode(_ request: EmbeddingRequestInput, upstreamModel: String,
                       endpoint: UpstreamEndpoint) throws(GatewayError) -> UpstreamRequest {
        guard !request.inputs.isEmpty else {
            throw .invalidRequest("\"input\" must hold at least one text.", param: "input")
        }
        let model = JSONValue.string(Gemini.resourceName(model: upstreamModel))
        let requests: [JSONValue] = request.inputs.map { text in
            var item = JSONObject([("model", model), ("content", ["parts": [["text": .string(text)]]])])
            if let dimensions = request.dimensions { item["outputDimensionality"] = .int(dimensions) }
            return .object(item)
        }
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        return UpstreamRequest(url: endpoint.url(path: try Gemini.path(model: upstreamModel, method: "batchEmbedContents")),
                               headers: headers, body: JSONValue.object(JSONObject([("requests", .array(requests))])).serialized())
    }

    public func decodeResponse(status: Int, headers: HTTPHeaders, body: [UInt8]) throws(GatewayError) -> EmbeddingResult {
        guard let json = try? JSONValue.parse(body) else {
            throw GatewayError.badGateway("The upstream embeddings answer is not JSON.", code: "invalid_upstream_response")
        }
        if let error = Gemini.errorObject(json) {
            throw Gemini.error(error, status: status >= 400 ? status : 502, headers: headers)
        }
        guard let embeddings = json["embeddings"]?.arrayValue else {
            throw GatewayError.badGateway("The upstream embeddings answer has no \"embeddings\" list.",
                                          code: "invalid_upstream_response")
        }
        var vectors: [[Float]] = []
        vectors.reserveCapacity(embeddings.count)
        for embedding in embeddings {
            guard let values = embedding["values"]?.arrayValue else {
                throw GatewayError.badGateway("The upstream embeddings answer has an item without \"values\".",
                                              code: "invalid_upstream_response")
            }
            vectors.append(values.map { Float($0.doubleValue ?? 0) })
        }
        return EmbeddingResult(vectors: vectors, promptTokens: 0)
    }

    public func decodeFailure(status: Int, headers: HTTPHeaders, body: [UInt8]) -> UpstreamFailure {
        Gemini.failure(status: status, headers: headers, body: body)
    }
}
