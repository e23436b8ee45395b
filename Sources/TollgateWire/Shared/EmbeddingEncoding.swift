import FoundationEssentials
import TollgateCore

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
