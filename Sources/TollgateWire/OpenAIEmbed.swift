import Foundation
import TollgateCore

/// `openai_embed`: OpenAI's `/embeddings`, spoken by OpenAI, Azure and OpenAI-compatible servers.
/// Reference: https://platform.openai.com/docs/api-reference/embeddings (wire-formats.md §1).
public struct OpenAIEmbed: EmbeddingProtocol {
    public let name = "openai_embed"
    public init() {}

    public func encode(_ request: EmbeddingRequestInput, upstreamModel: String,
                       provider: ResolvedProvider) throws(GatewayError) -> UpstreamRequest {
        var json = request.json
        json["model"] = .string(upstreamModel)
        // Ask for floats: tollgate re-encodes to what the client asked, and every server supports them.
        json["encoding_format"] = "float"
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        return UpstreamRequest(url: provider.url(path: "/embeddings"), headers: headers, body: json.serialized())
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

    public func decodeError(status: Int, headers: HTTPHeaders, body: [UInt8]) -> GatewayError {
        OpenAIChat().decodeError(status: status, headers: headers, body: body)
    }
}

/// OpenAI's embedding list format and its base64 form (little-endian float32, what the
/// official SDK requests when the caller sets no encoding_format).
public enum EmbeddingEncoding {
    public static func responseJSON(_ result: EmbeddingResult, model: String, format: String) -> JSONValue {
        let data: [JSONValue] = result.vectors.enumerated().map { index, vector in
            let embedding: JSONValue = format == "base64" ? .string(encodeBase64(vector))
                : .array(vector.map { JSONValue.number(formatFloat($0)) })
            return ["object": "embedding", "index": .int(index), "embedding": embedding]
        }
        return ["object": "list", "data": .array(data), "model": .string(model),
                "usage": ["prompt_tokens": .int(result.promptTokens), "total_tokens": .int(result.promptTokens)]]
    }

    public static func encodeBase64(_ vector: [Float]) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(vector.count * 4)
        for value in vector {
            let bits = value.bitPattern.littleEndian
            withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
        }
        return Data(bytes).base64EncodedString()
    }

    public static func decodeBase64(_ text: String) -> [Float]? {
        guard let data = Data(base64Encoded: text), data.count % 4 == 0 else { return nil }
        return stride(from: 0, to: data.count, by: 4).map { offset in
            let bits = data[data.startIndex + offset..<data.startIndex + offset + 4].enumerated()
                .reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * UInt32($1.offset)) }
            return Float(bitPattern: bits)
        }
    }

    /// Shortest text that reads back as the same Float.
    static func formatFloat(_ value: Float) -> String {
        guard value.isFinite else { return "0" }
        return "\(value)"
    }
}
