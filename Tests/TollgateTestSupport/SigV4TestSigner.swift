import TollgateCore

// An independent AWS Signature Version 4 signer, the reference the tests check tollgate's `SigV4`
// and curl's signing against. It shares only SHA-256 and HMAC with the code under test (checked
// on their own against FIPS and RFC 4231 vectors); the canonical request is built separately.
// Reference: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html

/// AWS SigV4 for non-S3 services: the `Authorization` value for one request. `date` is the
/// `X-Amz-Date` value (`20150830T123600Z`); `host` and `x-amz-date` are added when `headers` lack them.
public enum SigV4TestSigner {
    public static func authorization(method: String, url: String, headers: [(String, String)], body: [UInt8], date: String,
                                     region: String, service: String, accessKey: String, secretKey: String) -> String {
        let (canonical, signedHeaders) = canonicalRequest(method: method, url: url, headers: headers, body: body, date: date)
        let scope = "\(date.prefix(8))/\(region)/\(service)/aws4_request"
        let stringToSign = "AWS4-HMAC-SHA256\n\(date)\n\(scope)\n" + SHA256.hex(SHA256.hash(Array(canonical.utf8)))
        var key = Array("AWS4\(secretKey)".utf8)
        for part in [String(date.prefix(8)), region, service, "aws4_request"] { key = SHA256.hmac(key: key, Array(part.utf8)) }
        let signature = SHA256.hex(SHA256.hmac(key: key, Array(stringToSign.utf8)))
        return "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
    }

    public static func canonicalRequest(method: String, url: String, headers: [(String, String)], body: [UInt8],
                                        date: String) -> (canonical: String, signedHeaders: String) {
        var rest = Substring(url)
        if let scheme = rest.range(of: "://") { rest = rest[scheme.upperBound...] }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        var host = String(rest[..<authorityEnd])
        if host.hasSuffix(":443") || host.hasSuffix(":80") { host = String(host[..<host.lastIndex(of: ":")!]) }
        rest = rest[authorityEnd...]
        let path = rest.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        let query = rest.contains("?") ? String(rest[rest.index(after: rest.firstIndex(of: "?")!)...]) : ""

        var fields: [String: [String]] = [:]
        for (name, value) in headers {
            let collapsed = value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
            fields[name.lowercased(), default: []].append(collapsed)
        }
        if fields["host"] == nil { fields["host"] = [host] }
        if fields["x-amz-date"] == nil { fields["x-amz-date"] = [date] }
        let names = fields.keys.sorted()
        let canonicalHeaders = names.map { "\($0):\(fields[$0]!.joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")

        let pairs = query.split(separator: "&").map { pair -> (String, String) in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (encode(decode(String(parts[0]))), encode(decode(parts.count > 1 ? String(parts[1]) : "")))
        }.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        let canonicalQuery = pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")

        // Non-S3 services encode the path as sent once more: `%3A` is signed as `%253A`.
        let canonicalPath = path.isEmpty ? "/" : encode(path, keepSlash: true)
        let canonical = [method, canonicalPath, canonicalQuery, canonicalHeaders, signedHeaders,
                         SHA256.hex(SHA256.hash(body))].joined(separator: "\n")
        return (canonical, signedHeaders)
    }

    /// Percent-encodes all but `A-Z a-z 0-9 - . _ ~` (and `/` in paths), upper-case hex.
    static func encode(_ text: String, keepSlash: Bool = false) -> String {
        var out = ""
        for byte in text.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if (c.isASCII && (c.isLetter || c.isNumber)) || "-._~".contains(c) || (keepSlash && c == "/") {
                out.append(c)
            } else {
                out += "%" + (byte < 16 ? "0" : "") + String(byte, radix: 16, uppercase: true)
            }
        }
        return out
    }

    static func decode(_ text: String) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let b = utf8.popFirst() {
            if b == UInt8(ascii: "%"), utf8.count >= 2, let v = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(v)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
