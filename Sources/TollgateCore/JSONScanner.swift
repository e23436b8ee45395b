/// A JSON document checked against the same grammar as `JSONValue.parse`, without building
/// values: it records where each top-level member of an object lies, so a gateway can read
/// the few fields it needs (and rewrite one in place) while the rest passes through as bytes.
public struct JSONScan: Sendable {
    /// Whether the document is an object (members are recorded only then).
    public let isObject: Bool
    /// Each top-level member: the byte range of its key's contents (between the quotes, as
    /// written) and of its value.
    public let members: [(key: Range<Int>, value: Range<Int>)]
    /// Keys that contain escapes cannot be compared as bytes; their members are matched by decoding.
    public let escapedKeys: Set<Int>

    /// The value range of the first member named `key`.
    public func range(of key: String, in bytes: UnsafeRawBufferPointer) -> Range<Int>? {
        // The key's own UTF-8 storage (a literal's, usually): no array per lookup.
        var utf8 = key
        return utf8.withUTF8 { wanted in
            for (i, member) in members.enumerated() {
                if escapedKeys.contains(i) {
                    let raw = Array(bytes[member.key.lowerBound - 1..<member.key.upperBound + 1])
                    if (try? JSONValue.parse(raw))?.stringValue == key { return member.value }
                    continue
                }
                guard member.key.count == wanted.count else { continue }
                if wanted.isEmpty || memcmp(wanted.baseAddress!, bytes.baseAddress! + member.key.lowerBound, wanted.count) == 0 {
                    return member.value
                }
            }
            return nil
        }
    }
}

extension JSONScan {
    /// Scans `bytes`; throws the same kind of error `JSONValue.parse` would.
    public static func scan(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 256) throws(JSONParseError) -> JSONScan {
        var scanner = JSONScanner(bytes: bytes, maxDepth: maxDepth)
        return try scanner.scanDocument()
    }

    public static func scan(_ bytes: [UInt8], maxDepth: Int = 256) throws(JSONParseError) -> JSONScan {
        let result: Result<JSONScan, JSONParseError> = bytes.withUnsafeBytes { raw in
            do throws(JSONParseError) { return .success(try scan(raw, maxDepth: maxDepth)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}

#if canImport(Glibc)
import Glibc
#endif

struct JSONScanner: JSONCursor {
    let bytes: UnsafeRawBufferPointer
    let maxDepth: Int
    var index = 0
    var depth = 0
    var members: [(key: Range<Int>, value: Range<Int>)] = []
    var escapedKeys: Set<Int> = []

    init(bytes: UnsafeRawBufferPointer, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func scanDocument() throws(JSONParseError) -> JSONScan {
        skipWhitespace()
        guard index < bytes.count else { throw fail("unexpected end of JSON") }
        let isObject = bytes[index] == UInt8(ascii: "{")
        // One allocation for a typical object's members instead of growing 1, 2, 4, 8, 16.
        if isObject { members.reserveCapacity(16) }
        try skipValue(recordMembers: isObject)
        skipWhitespace()
        guard index == bytes.count else { throw fail("unexpected data after the JSON value") }
        return JSONScan(isObject: isObject, members: members, escapedKeys: escapedKeys)
    }

    mutating func skipValue(recordMembers: Bool = false) throws(JSONParseError) {
        guard index < bytes.count else { throw fail("unexpected end of JSON") }
        switch bytes[index] {
        case UInt8(ascii: "{"): try skipObject(record: recordMembers)
        case UInt8(ascii: "["): try skipArray()
        case UInt8(ascii: "\""): _ = try skipString()
        case UInt8(ascii: "t"): try expectLiteral("true")
        case UInt8(ascii: "f"): try expectLiteral("false")
        case UInt8(ascii: "n"): try expectLiteral("null")
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try skipNumber()
        default: throw fail("unexpected character")
        }
    }

    mutating func skipObject(record: Bool) throws(JSONParseError) {
        try enter()
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
            let keyStart = index + 1
            let escaped = try skipString()
            let key = keyStart..<(index - 1)
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw fail("expected ':'") }
            index += 1
            skipWhitespace()
            let valueStart = index
            try skipValue()
            if record {
                if escaped { escapedKeys.insert(members.count) }
                members.append((key, valueStart..<index))
            }
            skipWhitespace()
            guard index < bytes.count else { throw fail("unexpected end of JSON") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "}") { index += 1; break }
            throw fail("expected ',' or '}'")
        }
        depth -= 1
    }

    mutating func skipArray() throws(JSONParseError) {
        try enter()
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return
        }
        while true {
            skipWhitespace()
            try skipValue()
            skipWhitespace()
            guard index < bytes.count else { throw fail("unexpected end of JSON") }
            if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
            if bytes[index] == UInt8(ascii: "]") { index += 1; break }
            throw fail("expected ',' or ']'")
        }
        depth -= 1
    }

    /// Skips a string (from its opening quote), checking escapes, control characters and
    /// UTF-8; returns whether it held escapes.
    mutating func skipString() throws(JSONParseError) -> Bool {
        index += 1
        var escaped = false
        while index < bytes.count {
            let b = bytes[index]
            switch b {
            case UInt8(ascii: "\""):
                index += 1
                return escaped
            case UInt8(ascii: "\\"):
                escaped = true
                index += 1
                guard index < bytes.count else { throw fail("unterminated string") }
                let e = bytes[index]
                index += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                     UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    continue
                case UInt8(ascii: "u"):
                    let scalar = try hex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                        else { throw fail("lone surrogate in string") }
                        index += 2
                        guard (0xDC00...0xDFFF).contains(try hex4()) else { throw fail("invalid surrogate pair") }
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw fail("lone surrogate in string")
                    }
                default:
                    throw fail("invalid escape")
                }
            case 0..<0x20:
                throw fail("control character in string")
            case 0..<0x80:
                index += 1
            default:
                try skipUTF8Sequence()
            }
        }
        throw fail("unterminated string")
    }

    /// One multi-byte UTF-8 sequence (shortest form, no surrogates, at most U+10FFFF).
    mutating func skipUTF8Sequence() throws(JSONParseError) {
        let b0 = bytes[index]
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch b0 {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: throw JSONParseError(message: "invalid UTF-8 in string", offset: index)
        }
        guard bytes.count - index >= length else { throw JSONParseError(message: "invalid UTF-8 in string", offset: index) }
        let b1 = bytes[index + 1]
        guard b1 >= low, b1 <= high else { throw JSONParseError(message: "invalid UTF-8 in string", offset: index) }
        for i in 2..<max(2, length) where bytes[index + i] & 0xC0 != 0x80 {
            throw JSONParseError(message: "invalid UTF-8 in string", offset: index)
        }
        index += length
    }

}
