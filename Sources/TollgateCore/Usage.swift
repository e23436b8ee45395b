/// Token counts of one answer, in OpenAI's terms (wire-formats.md §0.3).
public struct Usage: Sendable, Equatable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var cachedTokens: Int
    public var reasoningTokens: Int

    public init(promptTokens: Int = 0, completionTokens: Int = 0, cachedTokens: Int = 0, reasoningTokens: Int = 0) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedTokens = cachedTokens
        self.reasoningTokens = reasoningTokens
    }

    /// Reads an OpenAI `usage` object.
    public init?(openAI json: JSONValue?) {
        guard let json, case .object = json else { return nil }
        promptTokens = json["prompt_tokens"]?.intValue ?? 0
        completionTokens = json["completion_tokens"]?.intValue ?? 0
        cachedTokens = json["prompt_tokens_details"]?["cached_tokens"]?.intValue ?? 0
        reasoningTokens = json["completion_tokens_details"]?["reasoning_tokens"]?.intValue ?? 0
    }

    /// Reads an OpenAI `usage` object from its bytes without building JSON values: the same
    /// counts as `init(openAI:)` on the parsed object (a repeated key: the last one counts).
    public init?(openAIBytes bytes: UnsafeRawBufferPointer) {
        guard let scan = try? JSONScan.scan(bytes, maxDepth: 64), scan.isObject else { return nil }
        self.init()
        for i in scan.members.indices {
            let member = scan.members[i]
            switch Self.key(scan, i, bytes) {
            case .promptTokens?: promptTokens = Self.int(bytes, member.value)
            case .completionTokens?: completionTokens = Self.int(bytes, member.value)
            case .promptTokensDetails?: cachedTokens = Self.nested(bytes, member.value, "cached_tokens")
            case .completionTokensDetails?: reasoningTokens = Self.nested(bytes, member.value, "reasoning_tokens")
            case nil: break
            }
        }
    }

    /// The four keys read, matched as bytes without building a string (a key with escapes is
    /// decoded first); nil for any other key.
    private static func key(_ scan: JSONScan, _ i: Int, _ bytes: UnsafeRawBufferPointer) -> OpenAIKey? {
        let range = scan.members[i].key
        guard range.count >= 13, range.count <= 25 else { return nil }
        if scan.escapedKeys.contains(i) {
            let decoded = (try? JSONValue.parse(UnsafeRawBufferPointer(rebasing: bytes[(range.lowerBound - 1)..<(range.upperBound + 1)])))?.stringValue
            return decoded.flatMap(OpenAIKey.init(rawValue:))
        }
        let raw = UnsafeRawBufferPointer(rebasing: bytes[range])
        // The raw values are literals: comparing their UTF-8 allocates nothing.
        return OpenAIKey.allCases.first { raw.elementsEqual($0.rawValue.utf8) }
    }

    private enum OpenAIKey: String, CaseIterable {
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case promptTokensDetails = "prompt_tokens_details"
        case completionTokensDetails = "completion_tokens_details"
    }

    /// A member value as `JSONValue.intValue` reads it, 0 when it is not a number.
    private static func int(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>) -> Int {
        var value = 0
        var plain = range.count <= 18
        for i in range where plain {
            let byte = bytes[i]
            if byte >= 0x30, byte <= 0x39 { value = value * 10 + Int(byte - 0x30) } else { plain = false }
        }
        if plain, !range.isEmpty { return value }
        return (try? JSONValue.parse(UnsafeRawBufferPointer(rebasing: bytes[range])))?.intValue ?? 0
    }

    private static func nested(_ bytes: UnsafeRawBufferPointer, _ range: Range<Int>, _ name: String) -> Int {
        let inner = UnsafeRawBufferPointer(rebasing: bytes[range])
        guard let scan = try? JSONScan.scan(inner, maxDepth: 64), scan.isObject else { return 0 }
        var result = 0
        for member in scan.members.indices {
            let keyRange = scan.members[member].key
            let matches = scan.escapedKeys.contains(member)
                ? (try? JSONValue.parse(UnsafeRawBufferPointer(rebasing: inner[(keyRange.lowerBound - 1)..<(keyRange.upperBound + 1)])))?.stringValue == name
                : keyRange.count == name.utf8.count && name.utf8.elementsEqual(inner[keyRange])
            if matches { result = int(inner, scan.members[member].value) }
        }
        return result
    }

    public var openAIJSON: JSONValue {
        [
            "prompt_tokens": .int(promptTokens),
            "completion_tokens": .int(completionTokens),
            "total_tokens": .int(promptTokens + completionTokens),
            "prompt_tokens_details": ["cached_tokens": .int(cachedTokens)],
            "completion_tokens_details": ["reasoning_tokens": .int(reasoningTokens)],
        ]
    }
}
