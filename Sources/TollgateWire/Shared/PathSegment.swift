import TollgateCore

/// A client- or config-supplied value placed in an upstream URL (a model id, a deployment, a
/// region): percent-encoded so it stays one path segment and can neither climb the path (`..`,
/// `/`), add a query (`?`, `&`), cut it (`#`) nor switch a method (`:`). The one place every
/// protocol encodes such values; the SigV4 signers encode the result once more, as AWS does.
public enum PathSegment {
    /// RFC 3986 percent-encoding of every byte but the unreserved `A-Z a-z 0-9 - . _ ~`
    /// (`:` → `%3A`, `/` → `%2F`, `%` → `%25`), as the AWS SDKs encode a model id.
    public static func percentEncode(_ text: String) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `value` as one encoded path segment. An empty value, `.`, `..` (which an HTTP client
    /// would resolve against the path) and control characters are refused with a 400 naming `param`.
    public static func encode(_ value: String, param: String = "model") throws(GatewayError) -> String {
        if let problem = problem(value) {
            throw .invalidRequest("The \(param) \"\(printable(value))\" cannot be sent upstream: \(problem).", param: param)
        }
        return percentEncode(value)
    }

    /// Why `value` cannot be one path segment, or nil when it can (once percent-encoded).
    public static func problem(_ value: String) -> String? {
        if value.isEmpty { return "it is empty" }
        if value == "." || value == ".." { return "it is a dot segment" }
        if hasControlCharacters(value) { return "it contains control characters" }
        return nil
    }

    /// True when `value` holds a C0 control character or DEL (CR and LF included).
    public static func hasControlCharacters(_ value: String) -> Bool {
        value.utf8.contains { $0 < 0x20 || $0 == 0x7F }
    }

    /// `value` with control characters shown as `?`, for an error message.
    public static func printable(_ value: String) -> String {
        String(decoding: value.utf8.prefix(200).map { $0 < 0x20 || $0 == 0x7F ? UInt8(ascii: "?") : $0 }, as: UTF8.self)
    }

    private static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
             UInt8(ascii: "~"):
            true
        default:
            false
        }
    }
}
