import Testing

// An independent AWS Signature Version 4 signer (SHA-256 and HMAC included), used to check what
// curl sends for Bedrock. Reference: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html

/// SHA-256 (FIPS 180-4).
enum SHA256 {
    static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    static func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }

    static func hash(_ message: [UInt8]) -> [UInt8] {
        var h: [UInt32] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]
        var data = message
        data.append(0x80)
        while data.count % 64 != 56 { data.append(0) }
        let bits = UInt64(message.count) * 8
        for shift in stride(from: 56, through: 0, by: -8) { data.append(UInt8(truncatingIfNeeded: bits >> UInt64(shift))) }

        var w = [UInt32](repeating: 0, count: 64)
        for block in stride(from: 0, to: data.count, by: 64) {
            for t in 0..<16 {
                let i = block + t * 4
                w[t] = UInt32(data[i]) << 24 | UInt32(data[i + 1]) << 16 | UInt32(data[i + 2]) << 8 | UInt32(data[i + 3])
            }
            for t in 16..<64 {
                let s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3)
                let s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10)
                w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, hh) = (h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7])
            for t in 0..<64 {
                let t1 = hh &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ k[t] &+ w[t]
                let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
                (hh, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            for (i, v) in [a, b, c, d, e, f, g, hh].enumerated() { h[i] = h[i] &+ v }
        }
        return h.flatMap { v in [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    }

    /// HMAC-SHA256 (RFC 2104).
    static func hmac(key: [UInt8], _ message: [UInt8]) -> [UInt8] {
        var block = key.count > 64 ? hash(key) : key
        block += [UInt8](repeating: 0, count: 64 - block.count)
        return hash(block.map { $0 ^ 0x5C } + hash(block.map { $0 ^ 0x36 } + message))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }
}

/// AWS SigV4 for non-S3 services: the `Authorization` value for one request. `date` is the
/// `X-Amz-Date` value (`20150830T123600Z`); `host` and `x-amz-date` are added when `headers` lack them.
enum SigV4TestSigner {
    static func authorization(method: String, url: String, headers: [(String, String)], body: [UInt8], date: String,
                              region: String, service: String, accessKey: String, secretKey: String) -> String {
        let (canonical, signedHeaders) = canonicalRequest(method: method, url: url, headers: headers, body: body, date: date)
        let scope = "\(date.prefix(8))/\(region)/\(service)/aws4_request"
        let stringToSign = "AWS4-HMAC-SHA256\n\(date)\n\(scope)\n" + SHA256.hex(SHA256.hash(Array(canonical.utf8)))
        var key = Array("AWS4\(secretKey)".utf8)
        for part in [String(date.prefix(8)), region, service, "aws4_request"] { key = SHA256.hmac(key: key, Array(part.utf8)) }
        let signature = SHA256.hex(SHA256.hmac(key: key, Array(stringToSign.utf8)))
        return "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
    }

    static func canonicalRequest(method: String, url: String, headers: [(String, String)], body: [UInt8],
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

@Suite struct SigV4Tests {
    @Test func sha256KnownAnswers() {
        #expect(SHA256.hex(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(SHA256.hex(SHA256.hash([UInt8](repeating: 0x61, count: 1_000_000)))
            == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func hmacRFC4231() {
        #expect(SHA256.hex(SHA256.hmac(key: [UInt8](repeating: 0x0B, count: 20), Array("Hi There".utf8)))
            == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        #expect(SHA256.hex(SHA256.hmac(key: Array("Jefe".utf8), Array("what do ya want for nothing?".utf8)))
            == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        #expect(SHA256.hex(SHA256.hmac(key: [UInt8](repeating: 0xAA, count: 131),
                                       Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)))
            == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    /// A case of AWS's SigV4 test suite (as shipped in botocore `tests/unit/auth/aws4_testsuite`):
    /// credentials AKIDEXAMPLE, region us-east-1, service "service", 2015-08-30T12:36:00Z.
    struct SuiteCase: Sendable, CustomTestStringConvertible {
        var name: String
        var method: String
        var path: String
        var headers: [(String, String)] = []
        var body = ""
        /// The last line of the suite's string to sign: SHA-256 of the canonical request.
        var canonicalHash: String
        var authorization: String
        var testDescription: String { name }
    }

    static let credential = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request"
    static let suite: [SuiteCase] = [
        SuiteCase(name: "get-vanilla", method: "GET", path: "/",
                  canonicalHash: "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
                  authorization: credential + ", SignedHeaders=host;x-amz-date, "
                      + "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        SuiteCase(name: "post-vanilla", method: "POST", path: "/",
                  canonicalHash: "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
                  authorization: credential + ", SignedHeaders=host;x-amz-date, "
                      + "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
        SuiteCase(name: "post-x-www-form-urlencoded", method: "POST", path: "/",
                  headers: [("Content-Type", "application/x-www-form-urlencoded")], body: "Param1=value1",
                  canonicalHash: "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
                  authorization: credential + ", SignedHeaders=content-type;host;x-amz-date, "
                      + "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
        SuiteCase(name: "get-vanilla-with-session-token", method: "GET", path: "/",
                  headers: [("X-Amz-Security-Token", "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267")],
                  canonicalHash: "067b36aa60031588cea4a4cde1f21215227a047690c72247f1d70b32fbbfad2b",
                  authorization: credential + ", SignedHeaders=host;x-amz-date;x-amz-security-token, "
                      + "Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"),
        SuiteCase(name: "get-vanilla-query-order-key-case", method: "GET", path: "/?Param2=value2&Param1=value1",
                  canonicalHash: "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
                  authorization: credential + ", SignedHeaders=host;x-amz-date, "
                      + "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        SuiteCase(name: "get-unreserved", method: "GET", path: "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
                  canonicalHash: "6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
                  authorization: credential + ", SignedHeaders=host;x-amz-date, "
                      + "Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
    ]

    @Test(arguments: suite)
    func awsTestSuite(_ test: SuiteCase) {
        let url = "https://example.amazonaws.com" + test.path
        let headers = [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")] + test.headers
        let body = Array(test.body.utf8)
        let (canonical, _) = SigV4TestSigner.canonicalRequest(method: test.method, url: url, headers: headers, body: body,
                                                               date: "20150830T123600Z")
        #expect(SHA256.hex(SHA256.hash(Array(canonical.utf8))) == test.canonicalHash)
        #expect(SigV4TestSigner.authorization(method: test.method, url: url, headers: headers, body: body,
                                              date: "20150830T123600Z", region: "us-east-1", service: "service",
                                              accessKey: "AKIDEXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
            == test.authorization)
    }

    /// A Converse call as tollgate sends it. The expected values were computed with botocore's
    /// `SigV4Auth` (service `bedrock`) for the same request, as a cross-check of this signer.
    @Test func bedrockConverseRequest() {
        let url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
        let body = Array(#"{"messages":[{"role":"user","content":[{"text":"Hello"}]}]}"#.utf8)
        let headers = [("Content-Type", "application/json"), ("Accept", "application/json")]
        let (canonical, signed) = SigV4TestSigner.canonicalRequest(method: "POST", url: url, headers: headers, body: body,
                                                                   date: "20250301T120000Z")
        #expect(canonical.split(separator: "\n")[1] == "/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse")
        #expect(signed == "accept;content-type;host;x-amz-date")
        let sign = { (headers: [(String, String)]) in
            SigV4TestSigner.authorization(method: "POST", url: url, headers: headers, body: body, date: "20250301T120000Z",
                                          region: "us-east-1", service: "bedrock", accessKey: "AKIDEXAMPLE",
                                          secretKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
        }
        #expect(sign(headers) == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250301/us-east-1/bedrock/aws4_request, "
            + "SignedHeaders=accept;content-type;host;x-amz-date, "
            + "Signature=c3b5fcc043cc8849f381117dcaa61e5da5cfb849100512199ea198231344e2e5")
        #expect(sign(headers + [("x-amz-security-token", "FQoGZXIvYXdzEXAMPLE")])
            == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250301/us-east-1/bedrock/aws4_request, "
            + "SignedHeaders=accept;content-type;host;x-amz-date;x-amz-security-token, "
            + "Signature=71bad42f5097aa6adbff34c6859f20bd6879f6c76fd15fbdecdb357b7616f691")
    }
}
