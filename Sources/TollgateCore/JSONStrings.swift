/// Walks the strings of valid JSON bytes (a document `JSONScan` accepted, or a part of one)
/// without building values: each string value with the key it belongs to. Used to estimate
/// tokens from text that passes through unparsed.
public enum JSONStrings {
    /// Calls `visit` with the raw contents (between the quotes, escapes as written) of every
    /// string value in `range`, and of the key it is the value of (nil for array items).
    /// Returns how many objects open directly inside the range's outermost array or object.
    @discardableResult
    public static func forEach(in raw: UnsafeRawBufferPointer, _ range: Range<Int>,
                               _ visit: (_ key: Range<Int>?, _ value: Range<Int>) -> Void) -> Int {
        var i = range.lowerBound
        var depth = 0
        var items = 0
        var lastKey: Range<Int>?
        var afterColon = false
        while i < range.upperBound {
            let b = raw[i]
            switch b {
            case UInt8(ascii: "\""):
                let start = i + 1
                var j = start
                while j < range.upperBound, raw[j] != UInt8(ascii: "\"") {
                    j += raw[j] == UInt8(ascii: "\\") ? 2 : 1
                }
                let contents = start..<min(j, range.upperBound)
                i = j + 1
                var k = i
                while k < range.upperBound, raw[k] == 0x20 || raw[k] == 0x0A || raw[k] == 0x0D || raw[k] == 0x09 { k += 1 }
                if k < range.upperBound, raw[k] == UInt8(ascii: ":") {
                    lastKey = contents
                    afterColon = true
                    i = k + 1
                    continue
                }
                visit(afterColon ? lastKey : nil, contents)
                afterColon = false
                continue
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                if b == UInt8(ascii: "{"), depth == 1 { items += 1 }
                depth += 1
                afterColon = false
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
            case UInt8(ascii: ","):
                afterColon = false
            default:
                break
            }
            i += 1
        }
        return items
    }

    /// Whether the bytes at `range` are exactly `text`.
    public static func equals(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>, _ text: StaticString) -> Bool {
        guard range.count == text.utf8CodeUnitCount else { return false }
        let base = text.utf8Start
        for (n, i) in range.enumerated() where raw[i] != base[n] { return false }
        return true
    }

    /// Whether the bytes at `range` start with `prefix`.
    public static func hasPrefix(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>, _ prefix: StaticString) -> Bool {
        guard range.count >= prefix.utf8CodeUnitCount else { return false }
        let base = prefix.utf8Start
        for n in 0..<prefix.utf8CodeUnitCount where raw[range.lowerBound + n] != base[n] { return false }
        return true
    }
}

extension TokenEstimator {
    /// `inputTokens(_:)` from the raw bytes of a scanned request: the text of every string value
    /// in `messages` and `tools`, an image for each `"type": "image_url"` part (its `data:`
    /// URL not counted as text), four per message. Escapes count as written, so it errs high.
    public static func inputTokens(raw: UnsafeRawBufferPointer, messages: Range<Int>?, tools: Range<Int>?) -> Int {
        inputTokens(raw: raw, parts: [messages, tools])
    }

    /// The same over any members (the first one's items count as messages): for Anthropic's
    /// `messages`, `system` and `tools`, or the Responses API's `input`, `instructions` and `tools`.
    /// Images are `image_url`, `image` and `input_image` parts; base64 payloads (`data:` URLs,
    /// an Anthropic source's `data`) are not text.
    public static func inputTokens(raw: UnsafeRawBufferPointer, parts: [Range<Int>?]) -> Int {
        var textBytes = 0
        var images = 0
        var messageCount = 0
        for (which, range) in parts.enumerated() {
            guard let range else { continue }
            if raw[range.lowerBound] == UInt8(ascii: "\"") {
                textBytes += range.count  // a bare string (a system prompt, instructions, an input)
                continue
            }
            let items = JSONStrings.forEach(in: raw, range) { key, value in
                if let key, JSONStrings.equals(raw, key, "type"),
                   JSONStrings.equals(raw, value, "image_url") || JSONStrings.equals(raw, value, "image")
                    || JSONStrings.equals(raw, value, "input_image") {
                    images += 1
                } else if let key, JSONStrings.equals(raw, key, "data") {
                    return  // an image or document source's base64
                } else if !JSONStrings.hasPrefix(raw, value, "data:") {
                    textBytes += value.count
                }
            }
            if which == 0 { messageCount = items }
        }
        return tokens(forTextBytes: textBytes) + images * tokensPerImage + messageCount * 4
    }

    /// `outputBytes(chunk:)` from a chunk's raw bytes: the string values of `content`,
    /// `reasoning_content`, `arguments` and `name`.
    public static func outputBytes(rawChunk raw: UnsafeRawBufferPointer) -> Int {
        var bytes = 0
        JSONStrings.forEach(in: raw, 0..<raw.count) { key, value in
            guard let key else { return }
            if JSONStrings.equals(raw, key, "content") || JSONStrings.equals(raw, key, "reasoning_content")
                || JSONStrings.equals(raw, key, "arguments") || JSONStrings.equals(raw, key, "name") {
                bytes += value.count
            }
        }
        return bytes
    }
}
