/// Rough token counts for when a provider reports none: about four bytes of text per token,
/// plus a fixed allowance per message and per image. Used for budget reservations (where it
/// errs high) and for ledger rows marked `estimated`.
public enum TokenEstimator {
    public static let tokensPerImage = 1000

    public static func tokens(forTextBytes bytes: Int) -> Int { bytes <= 0 ? 0 : (bytes + 3) / 4 }

    /// Input tokens of an OpenAI chat request: every string in messages and tools, images at a flat rate.
    public static func inputTokens(_ request: JSONValue) -> Int {
        var textBytes = 0
        var images = 0
        var messages = 0
        func walk(_ v: JSONValue) {
            switch v {
            case .string(let s):
                if s.hasPrefix("data:") { images += 1 } else { textBytes += s.utf8.count }
            case .array(let items): items.forEach(walk)
            case .object(let o):
                if o["type"]?.stringValue == "image_url" {
                    images += 1
                    return
                }
                for entry in o.entries { walk(entry.value) }
            default: break
            }
        }
        if let list = request["messages"]?.arrayValue {
            messages = list.count
            list.forEach(walk)
        }
        if let tools = request["tools"] { walk(tools) }
        return tokens(forTextBytes: textBytes) + images * tokensPerImage + messages * 4
    }

    /// Output tokens of a `chat.completion` body: message text and tool-call arguments.
    public static func outputTokens(completion: JSONValue) -> Int {
        var bytes = 0
        for choice in completion["choices"]?.arrayValue ?? [] {
            bytes += choice["message"]?["content"]?.stringValue?.utf8.count ?? 0
            for call in choice["message"]?["tool_calls"]?.arrayValue ?? [] {
                bytes += call["function"]?["arguments"]?.stringValue?.utf8.count ?? 0
                bytes += call["function"]?["name"]?.stringValue?.utf8.count ?? 0
            }
        }
        return tokens(forTextBytes: bytes)
    }

    /// Text bytes carried by one `chat.completion.chunk` (content and tool-call pieces).
    public static func outputBytes(chunk: JSONValue) -> Int {
        var bytes = 0
        for choice in chunk["choices"]?.arrayValue ?? [] {
            bytes += choice["delta"]?["content"]?.stringValue?.utf8.count ?? 0
            bytes += choice["delta"]?["reasoning_content"]?.stringValue?.utf8.count ?? 0
            for call in choice["delta"]?["tool_calls"]?.arrayValue ?? [] {
                bytes += call["function"]?["arguments"]?.stringValue?.utf8.count ?? 0
                bytes += call["function"]?["name"]?.stringValue?.utf8.count ?? 0
            }
        }
        return bytes
    }
}
