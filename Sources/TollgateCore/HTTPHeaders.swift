/// HTTP header fields in arrival order, looked up without regard to ASCII case.
public struct HTTPHeaders: Sendable, Equatable, Sequence {
    public private(set) var entries: [(name: String, value: String)]

    public init() { entries = [] }
    public init(_ pairs: [(String, String)]) { entries = pairs.map { (name: $0.0, value: $0.1) } }

    public static func == (lhs: HTTPHeaders, rhs: HTTPHeaders) -> Bool {
        lhs.entries.count == rhs.entries.count && zip(lhs.entries, rhs.entries).allSatisfy { $0 == $1 }
    }

    public mutating func add(_ name: String, _ value: String) { entries.append((name, value)) }

    public mutating func reserveCapacity(_ count: Int) { entries.reserveCapacity(count) }

    /// How many fields are named `name` (no list is built).
    public func count(of name: String) -> Int {
        var n = 0
        for entry in entries where entry.name.equalsIgnoringASCIICase(name) { n += 1 }
        return n
    }

    /// Replaces every field named `name` with one field.
    public mutating func set(_ name: String, _ value: String) {
        remove(name)
        entries.append((name, value))
    }

    public mutating func remove(_ name: String) { entries.removeAll { $0.name.equalsIgnoringASCIICase(name) } }

    /// The first value of `name`.
    public subscript(name: String) -> String? {
        entries.first { $0.name.equalsIgnoringASCIICase(name) }?.value
    }

    public func values(_ name: String) -> [String] {
        entries.filter { $0.name.equalsIgnoringASCIICase(name) }.map(\.value)
    }

    public func contains(_ name: String) -> Bool { self[name] != nil }

    /// True when a comma-separated header (`Connection`, `Transfer-Encoding`) holds `token`.
    public func hasToken(_ token: String, in name: String) -> Bool {
        entries.contains { $0.name.equalsIgnoringASCIICase(name) && Self.value($0.value, hasToken: token) }
    }

    /// True when the comma-separated `value` holds `token` (ASCII case ignored), read as bytes.
    public static func value(_ value: String, hasToken token: String) -> Bool {
        var value = value
        var token = token
        return value.withUTF8 { v in
            token.withUTF8 { t in
                var start = 0
                while start <= v.count {
                    var end = start
                    while end < v.count, v[end] != 0x2C { end += 1 }
                    var a = start, b = end
                    while a < b, v[a] == 0x20 || v[a] == 0x09 { a += 1 }
                    while b > a, v[b - 1] == 0x20 || v[b - 1] == 0x09 { b -= 1 }
                    if b - a == t.count,
                       String.asciiCaseEqual(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: v[a..<b])), UnsafeRawBufferPointer(t)) {
                        return true
                    }
                    start = end + 1
                }
                return false
            }
        }
    }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { entries.makeIterator() }
}

extension StringProtocol {
    /// Compares two strings byte by byte, folding ASCII letters to lower case.
    public func equalsIgnoringASCIICase<Other: StringProtocol>(_ other: Other) -> Bool {
        let a = utf8, b = other.utf8
        guard a.count == b.count else { return false }
        // Native strings and substrings are contiguous: compare their bytes directly.
        if let fast = a.withContiguousStorageIfAvailable({ x in
            b.withContiguousStorageIfAvailable { y in Self.asciiCaseEqual(UnsafeRawBufferPointer(x), UnsafeRawBufferPointer(y)) }
        }), let result = fast {
            return result
        }
        for (x, y) in zip(a, b) where x != y {
            let lx = (x >= 0x41 && x <= 0x5A) ? x | 0x20 : x
            let ly = (y >= 0x41 && y <= 0x5A) ? y | 0x20 : y
            if lx != ly { return false }
        }
        return true
    }

    /// Whether two byte strings of the same length are equal with ASCII letters folded to lower case.
    public static func asciiCaseEqual(_ x: UnsafeRawBufferPointer, _ y: UnsafeRawBufferPointer) -> Bool {
        guard x.count == y.count else { return false }
        for i in 0..<x.count {
            let p = x[i], q = y[i]
            if p == q { continue }
            let lp = (p >= 0x41 && p <= 0x5A) ? p | 0x20 : p
            let lq = (q >= 0x41 && q <= 0x5A) ? q | 0x20 : q
            if lp != lq { return false }
        }
        return true
    }

    /// Whether the ASCII `needle` occurs in the string, ignoring ASCII case (a byte search).
    public func containsIgnoringASCIICase(_ needle: String) -> Bool {
        var wanted = needle
        return wanted.withUTF8 { n in
            let search = { (h: UnsafeRawBufferPointer) -> Bool in
                guard n.count <= h.count else { return false }
                if n.isEmpty { return true }
                for start in 0...(h.count - n.count)
                where Self.asciiCaseEqual(UnsafeRawBufferPointer(rebasing: h[start..<(start + n.count)]), UnsafeRawBufferPointer(n)) {
                    return true
                }
                return false
            }
            if let found = utf8.withContiguousStorageIfAvailable({ search(UnsafeRawBufferPointer($0)) }) { return found }
            return Array(utf8).withUnsafeBytes(search)
        }
    }

    public func trimmingWhitespaceASCII() -> Substring {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
