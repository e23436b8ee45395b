/// AWS Signature Version 4 for services other than S3, e.g. Bedrock (signing name `bedrock`).
/// Used where libcurl signs wrongly: before 8.14 it signs the path as sent, but AWS encodes each
/// path byte once more (`%3A` is signed as `%253A`). Algorithm:
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
public enum SigV4 {
    /// The headers that authenticate a request, to send with it: `X-Amz-Date`, then
    /// `x-amz-security-token` (a session token the headers lack) and `Authorization`.
    /// Every field of `headers` is signed, so each must be sent as given; `host` comes from the
    /// URL unless `headers` has one. `date` is the `X-Amz-Date` value (`20150830T123600Z`, UTC)
    /// and `body` the exact bytes sent.
    public static func sign(method: String, url: String, headers: [(String, String)], body: [UInt8], date: String,
                            region: String, service: String, accessKey: String, secretKey: String,
                            sessionToken: String? = nil) -> [(String, String)] {
        var added = [("X-Amz-Date", date)]
        if let sessionToken, !headers.contains(where: { $0.0.equalsIgnoringASCIICase("x-amz-security-token") }) {
            added.append(("x-amz-security-token", sessionToken))
        }
        let request = canonicalRequest(method: method, url: url, headers: headers + added, body: body)
        let day = String(date.prefix(8))
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = "AWS4-HMAC-SHA256\n\(date)\n\(scope)\n" + SHA256.hex(SHA256.hash(Array(request.text.utf8)))
        var key = Array("AWS4\(secretKey)".utf8)
        for part in [day, region, service, "aws4_request"] { key = SHA256.hmac(key: key, Array(part.utf8)) }
        let signature = SHA256.hex(SHA256.hmac(key: key, Array(stringToSign.utf8)))
        added.append(("Authorization", "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope), "
            + "SignedHeaders=\(request.signedHeaders), Signature=\(signature)"))
        return added
    }

    /// The `X-Amz-Date` form (`YYYYMMDD'T'HHMMSS'Z'`) of a time in seconds since 1970, UTC.
    public static func timestamp(secondsSince1970 seconds: Int) -> String {
        let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let time = seconds - days * 86400
        let (year, month, day) = civilDate(daysSince1970: days)
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)\(two(month))\(two(day))T\(two(time / 3600))\(two(time / 60 % 60))\(two(time % 60))Z"
    }

    /// Region and signing name from a `CURLOPT_AWS_SIGV4` value (`aws:amz:REGION:SERVICE`);
    /// parts it lacks come from the host as curl takes them (`SERVICE.REGION.amazonaws.com`).
    public static func scope(curlOption: String, url: String) -> (region: String, service: String) {
        let parts = curlOption.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        var labels = split(url).host.split(separator: ".").map(String.init)
        if labels.count < 2 { labels += ["", ""] }
        let region = parts.count > 2 && !parts[2].isEmpty ? parts[2] : labels[1]
        let service = parts.count > 3 && !parts[3].isEmpty ? parts[3] : labels[0]
        return (region, service)
    }

    // MARK: canonical request

    /// AWS's canonical request and its `SignedHeaders` list.
    static func canonicalRequest(method: String, url: String, headers: [(String, String)],
                                 body: [UInt8]) -> (text: String, signedHeaders: String) {
        let target = split(url)
        var fields: [(name: String, value: String)] = headers.map { (lowercased($0.0), collapsingSpaces($0.1)) }
        if !fields.contains(where: { $0.name == "host" }) { fields.append(("host", target.host)) }
        // A stable sort keeps repeated fields in order; their values are joined with commas.
        let sorted = fields.enumerated().sorted { $0.element.name != $1.element.name
            ? $0.element.name < $1.element.name : $0.offset < $1.offset }.map(\.element)
        var canonicalHeaders = ""
        var names: [String] = []
        for field in sorted {
            if names.last == field.name {
                canonicalHeaders.removeLast()
                canonicalHeaders += ",\(field.value)\n"
            } else {
                names.append(field.name)
                canonicalHeaders += "\(field.name):\(field.value)\n"
            }
        }
        let signedHeaders = names.joined(separator: ";")
        let text = [method, encode(target.path.utf8, keepingSlashes: true), canonicalQuery(target.query), canonicalHeaders,
                    signedHeaders, SHA256.hex(SHA256.hash(body))].joined(separator: "\n")
        return (text, signedHeaders)
    }

    /// The `Host` value curl sends for `url` (no user info, no default port), its path ("/" when
    /// empty) and its query, without `#fragment`.
    static func split(_ url: String) -> (host: String, path: String, query: String) {
        var rest = Substring(url)
        var scheme = ""
        if let separator = rest.firstRange(of: "://") {
            scheme = lowercased(String(rest[..<separator.lowerBound]))
            rest = rest[separator.upperBound...]
        }
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        var host = rest[..<authorityEnd]
        if let at = host.lastIndex(of: "@") { host = host[host.index(after: at)...] }
        let defaultPort = scheme == "https" ? ":443" : scheme == "http" ? ":80" : nil
        if let defaultPort, host.hasSuffix(defaultPort) { host = host.dropLast(defaultPort.count) }
        rest = rest[authorityEnd...]
        let questionMark = rest.firstIndex(of: "?") ?? rest.endIndex
        let path = rest[..<questionMark]
        let query = questionMark < rest.endIndex ? rest[rest.index(after: questionMark)...] : ""
        return (String(host), path.isEmpty ? "/" : String(path), String(query))
    }

    /// Parameters decoded, encoded again the AWS way and sorted by name, then value.
    static func canonicalQuery(_ query: String) -> String {
        let pairs = query.split(separator: "&").map { item -> (String, String) in
            let equals = item.firstIndex(of: "=") ?? item.endIndex
            let value = equals < item.endIndex ? item[item.index(after: equals)...] : ""
            return (encode(percentDecoded(item[..<equals])), encode(percentDecoded(value)))
        }
        return pairs.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// Percent-encodes every byte but `A-Z a-z 0-9 - . _ ~` (and `/` when asked), upper-case hex.
    static func encode(_ bytes: some Sequence<UInt8>, keepingSlashes: Bool = false) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.underestimatedCount)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                 UInt8(ascii: "~"):
                out.append(byte)
            case UInt8(ascii: "/") where keepingSlashes:
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func percentDecoded(_ text: Substring) -> [UInt8] {
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count, let high = hexValue(bytes[i + 1]),
               let low = hexValue(bytes[i + 2]) {
                out.append(high << 4 | low)
                i += 3
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    private static func lowercased(_ text: String) -> String {
        String(decoding: text.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    /// The value trimmed, with each run of spaces and tabs inside made one space.
    private static func collapsingSpaces(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }
}
