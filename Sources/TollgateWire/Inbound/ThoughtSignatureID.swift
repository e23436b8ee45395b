import TollgateCore

/// Gemini's thought signatures ride in the common stream as `tool_calls[].extra_content.google.
/// thought_signature`, and must come back with the call in the next turn. Anthropic's `tool_use`
/// and the Responses API's `function_call` have no place for them, but clients echo the call id
/// as it was: so the signature travels inside the id, URL-safe base64 after a marker
/// (`call_ab12__ts_<signature>`, still the `[A-Za-z0-9_-]` Anthropic requires of ids), and is
/// taken out again when the history comes back. Stateless: it survives restarts and failover.
enum ThoughtSignatureID {
    static let marker = "__ts_"

    /// A call's signature, if the common form carries one.
    static func signature(ofCall call: JSONValue?) -> String? {
        call?["extra_content"]?["google"]?["thought_signature"]?.stringValue
    }

    /// `id` carrying `signature` (the id alone without one).
    static func id(_ id: String, signature: String?) -> String {
        guard let signature, !signature.isEmpty else { return id }
        var safe = ""
        safe.reserveCapacity(signature.utf8.count)
        for c in signature {
            switch c {
            case "+": safe.append("-")
            case "/": safe.append("_")
            case "=": continue
            default: safe.append(c)
            }
        }
        return id + marker + safe
    }

    /// The id a client sent back, split into the original id and the signature it carried.
    static func split(_ id: String) -> (id: String, signature: String?) {
        guard let range = id.firstRange(of: marker) else { return (id, nil) }
        var signature = ""
        for c in id[range.upperBound...] {
            switch c {
            case "-": signature.append("+")
            case "_": signature.append("/")
            default: signature.append(c)
            }
        }
        while signature.utf8.count % 4 != 0 { signature.append("=") }
        return (String(id[..<range.lowerBound]), signature)
    }

    /// A common-form tool call for `id` as a client sent it back (the signature restored).
    static func toolCall(id: String, name: String, arguments: JSONValue) -> JSONValue {
        let (original, signature) = split(id)
        var call: JSONValue = ["id": .string(original), "type": "function", "function": ["name": .string(name), "arguments": arguments]]
        if let signature { call["extra_content"] = ["google": ["thought_signature": .string(signature)]] }
        return call
    }
}
