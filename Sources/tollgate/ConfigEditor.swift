import TollgateCore

/// Edits a config file's text in place: adds or removes one provider under `"providers"`,
/// leaving every other byte as it was (order, formatting, unknown keys, comments-free JSON).
enum ConfigEditor {
    struct EditError: Error, CustomStringConvertible {
        var description: String
    }

    /// The file with `"NAME": {entry}` added at the end of `"providers"` (created when absent).
    static func addProvider(to text: [UInt8], name: String, entry: JSONValue) throws -> [UInt8] {
        let scan = try JSONScan.scan(text)
        guard scan.isObject else { throw EditError(description: "the config's top level is not a JSON object") }
        let indent = "    "
        let member = JSONValue.string(name).serializedString() + ": " + pretty(entry, depth: 2)
        if let range = text.withUnsafeBytes({ scan.range(of: "providers", in: $0) }) {
            let object = Array(text[range])
            let inner = try JSONScan.scan(object)
            guard inner.isObject else { throw EditError(description: "\"providers\" is not an object") }
            if object.withUnsafeBytes({ inner.range(of: name, in: $0) }) != nil {
                throw EditError(description: "a provider named \"\(name)\" exists already")
            }
            let close = range.upperBound - 1  // the providers object's closing brace
            guard let last = inner.members.last else {
                // Empty: the member between the braces.
                var out = Array(text[..<close])
                out += Array(("\n" + indent + indent + member + "\n" + indent).utf8)
                out += Array(text[close...])
                return out
            }
            // After the last member, indented like the first; the whitespace before the brace stays.
            let first = range.lowerBound + inner.members[0].key.lowerBound - 1
            var lineStart = first
            while lineStart > 0, text[lineStart - 1] == 0x20 || text[lineStart - 1] == 0x09 { lineStart -= 1 }
            let sameLine = lineStart == 0 || text[lineStart - 1] != 0x0A
            let memberIndent = sameLine ? indent + indent : String(decoding: text[lineStart..<first], as: UTF8.self)
            let end = range.lowerBound + last.value.upperBound
            var out = Array(text[..<end])
            out += Array((",\n" + memberIndent + member).utf8)
            out += Array(text[end...])
            return out
        }
        // No providers yet: a new member before the top-level closing brace.
        var end = text.count - 1
        while end > 0, text[end] != UInt8(ascii: "}") { end -= 1 }
        var before = end - 1
        while before > 0, isSpace(text[before]) { before -= 1 }
        let empty = text[before] == UInt8(ascii: "{")
        var out = Array(text[..<(before + 1)])
        out += Array(((empty ? "" : ",") + "\n" + indent + "\"providers\": {\n" + indent + indent + member + "\n" + indent + "}\n").utf8)
        out += Array(text[end...])
        return out
    }

    /// The file without provider `name` (and its separating comma).
    static func removeProvider(from text: [UInt8], name: String) throws -> [UInt8] {
        let scan = try JSONScan.scan(text)
        guard let range = text.withUnsafeBytes({ scan.range(of: "providers", in: $0) }) else {
            throw EditError(description: "the config has no providers")
        }
        let object = Array(text[range])
        let inner = try JSONScan.scan(object)
        guard let value = object.withUnsafeBytes({ inner.range(of: name, in: $0) }),
              let index = inner.members.firstIndex(where: { $0.value == value })
        else { throw EditError(description: "there is no provider named \"\(name)\"") }
        let m = inner.members[index]
        // A key's range is between its quotes: the member starts at the opening quote.
        var start = range.lowerBound + m.key.lowerBound - 1
        var end = range.lowerBound + m.value.upperBound
        if index + 1 < inner.members.count {
            // Up to the next member: its comma and the space before it go.
            end = range.lowerBound + inner.members[index + 1].key.lowerBound - 1
        } else if index > 0 {
            // The last one: from the end of the previous member, taking the comma before it.
            start = range.lowerBound + inner.members[index - 1].value.upperBound
        } else {
            while start > range.lowerBound + 1, isSpace(text[start - 1]) { start -= 1 }
        }
        return Array(text[..<start]) + Array(text[end...])
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 }

    /// JSON with objects on several lines (short arrays and scalars inline), indented by `depth` levels.
    static func pretty(_ value: JSONValue, depth: Int) -> String {
        guard case .object(let o) = value, !o.entries.isEmpty else { return value.serializedString() }
        let pad = String(repeating: "    ", count: depth + 1)
        let lines = o.entries.map { pad + JSONValue.string($0.key).serializedString() + ": " + pretty($0.value, depth: depth + 1) }
        return "{\n" + lines.joined(separator: ",\n") + "\n" + String(repeating: "    ", count: depth) + "}"
    }
}
