import TollgateCore

/// `bedrock_embed`: embeddings through Bedrock's InvokeModel (`POST /model/{modelId}/invoke`),
/// whose body is the model family's own format, chosen by the model id:
/// - Amazon Titan Text Embeddings (`amazon.titan-embed-text-v2:0`, `-v1`): `{inputText, dimensions?,
///   normalize}` → `{embedding, inputTextTokenCount}`. One text per call, so a request with several
///   inputs is refused rather than fanned out.
/// - Cohere Embed (`cohere.embed-*`): `{texts, input_type: "search_document", embedding_types:
///   ["float"]}` → `{embeddings: {float: [[...]]}}` (or a plain list), at most 96 texts per call;
///   token counts come from the `X-Amzn-Bedrock-Input-Token-Count` header.
/// References: https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-titan-embed-text.html,
/// https://docs.aws.amazon.com/bedrock/latest/userguide/model-parameters-embed.html
public struct BedrockEmbed: EmbeddingProtocol {
    public let name = "bedrock_embed"
    public init() {}

    /// Cohere's limit of texts per call.
    static let cohereMaxTexts = 96

    enum Family { case titanV2, titanV1, cohereV3, cohereV4 }

    /// The model family, read from the id (inference-profile and ARN forms included).
    static func family(_ modelID: String) -> Family? {
        let id = modelID.lowercased()
        if id.contains("titan-embed-text-v2") { return .titanV2 }
        if id.contains("titan-embed") { return .titanV1 }
        if id.contains("cohere.embed-v4") { return .cohereV4 }
        if id.contains("cohere.embed") { return .cohereV3 }
        return nil
    }

    // MARK: request

    public func encode(_ request: EmbeddingRequestInput, upstreamModel: String,
                       endpoint: UpstreamEndpoint) throws(GatewayError) -> UpstreamRequest {
        guard let family = Self.family(upstreamModel) else {
            throw .invalidRequest("bedrock_embed supports Amazon Titan Text Embeddings (amazon.titan-embed-text-*) and "
                                  + "Cohere Embed (cohere.embed-*) models, not \"\(upstreamModel)\".", param: "model")
        }
        guard !request.inputs.isEmpty else { throw .invalidRequest("input must not be empty.", param: "input") }
        var body = JSONObject()
        switch family {
        case .titanV2, .titanV1:
            guard request.inputs.count == 1 else {
                throw .invalidRequest("Bedrock's Titan embedding models take one input per request; "
                                      + "send \(request.inputs.count) requests with one string each.", param: "input")
            }
            body["inputText"] = .string(request.inputs[0])
            if family == .titanV2 {
                if let dimensions = request.dimensions { body["dimensions"] = .int(dimensions) }
                body["normalize"] = true
            } else if request.dimensions != nil {
                throw .invalidRequest("\(upstreamModel) has a fixed size; dimensions is not supported.", param: "dimensions")
            }
        case .cohereV3, .cohereV4:
            guard request.inputs.count <= Self.cohereMaxTexts else {
                throw .invalidRequest("Cohere embedding models take at most \(Self.cohereMaxTexts) inputs per request.",
                                      param: "input")
            }
            body["texts"] = .array(request.inputs.map { .string($0) })
            body["input_type"] = "search_document"
            body["embedding_types"] = ["float"]
            if let dimensions = request.dimensions {
                guard family == .cohereV4 else {
                    throw .invalidRequest("\(upstreamModel) has a fixed size; dimensions is not supported.", param: "dimensions")
                }
                body["output_dimension"] = .int(dimensions)
            }
        }
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        headers.add("Accept", "application/json")
        return UpstreamRequest(url: endpoint.url(path: try Bedrock.modelPath(upstreamModel, "invoke")), headers: headers,
                               body: JSONValue.object(body).serialized())
    }

    // MARK: response

    public func decodeResponse(status: Int, headers: HTTPHeaders, body: [UInt8]) throws(GatewayError) -> EmbeddingResult {
        guard let json = try? JSONValue.parse(body), case .object = json else {
            throw GatewayError.badGateway("The upstream embeddings answer is not a JSON object.", code: "invalid_upstream_response")
        }
        let headerTokens = headers["x-amzn-bedrock-input-token-count"].flatMap { Int($0) }
        if let embedding = json["embedding"]?.arrayValue {
            let vector = try Self.vector(embedding)
            return EmbeddingResult(vectors: [vector], promptTokens: json["inputTextTokenCount"]?.intValue ?? headerTokens ?? 0)
        }
        let lists = json["embeddings"]?.arrayValue ?? json["embeddings"]?["float"]?.arrayValue
        guard let lists else {
            throw GatewayError.badGateway("The upstream embeddings answer has neither \"embedding\" nor float \"embeddings\".",
                                          code: "invalid_upstream_response")
        }
        var vectors: [[Float]] = []
        for list in lists {
            guard let values = list.arrayValue else {
                throw GatewayError.badGateway("The upstream embeddings answer holds an embedding that is not a list.",
                                              code: "invalid_upstream_response")
            }
            vectors.append(try Self.vector(values))
        }
        return EmbeddingResult(vectors: vectors, promptTokens: headerTokens ?? 0)
    }

    static func vector(_ values: [JSONValue]) throws(GatewayError) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(values.count)
        for value in values {
            guard let number = value.doubleValue else {
                throw GatewayError.badGateway("The upstream embeddings answer holds a value that is not a number.",
                                              code: "invalid_upstream_response")
            }
            out.append(Float(number))
        }
        return out
    }

    // MARK: errors

    public func decodeFailure(status: Int, headers: HTTPHeaders, body: [UInt8]) -> UpstreamFailure {
        Bedrock.failure(status: status, headers: headers, body: body)
    }
}
