import Testing
@testable import TollgateCore
import TollgateTestSupport

/// Tollgate's SHA-256, HMAC and SigV4 signer, and the independent reference signer the live
/// signing tests use, both checked against published vectors.
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

    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

    @Test(arguments: suite)
    func referenceSignerPassesAWSTestSuite(_ test: SuiteCase) {
        let url = "https://example.amazonaws.com" + test.path
        let headers = [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")] + test.headers
        let body = Array(test.body.utf8)
        let (canonical, _) = SigV4TestSigner.canonicalRequest(method: test.method, url: url, headers: headers, body: body,
                                                               date: "20150830T123600Z")
        #expect(SHA256.hex(SHA256.hash(Array(canonical.utf8))) == test.canonicalHash)
        #expect(SigV4TestSigner.authorization(method: test.method, url: url, headers: headers, body: body,
                                              date: "20150830T123600Z", region: "us-east-1", service: "service",
                                              accessKey: "AKIDEXAMPLE", secretKey: Self.secret)
            == test.authorization)
    }

    @Test(arguments: suite)
    func signerPassesAWSTestSuite(_ test: SuiteCase) {
        let url = "https://example.amazonaws.com" + test.path
        let body = Array(test.body.utf8)
        let (canonical, _) = SigV4.canonicalRequest(method: test.method, url: url,
                                                    headers: test.headers + [("X-Amz-Date", "20150830T123600Z")], body: body)
        #expect(SHA256.hex(SHA256.hash(Array(canonical.utf8))) == test.canonicalHash)
        let added = SigV4.sign(method: test.method, url: url, headers: test.headers, body: body, date: "20150830T123600Z",
                               region: "us-east-1", service: "service", accessKey: "AKIDEXAMPLE", secretKey: Self.secret)
        #expect(added.first { $0.0 == "Authorization" }?.1 == test.authorization)
        #expect(added.first { $0.0 == "X-Amz-Date" }?.1 == "20150830T123600Z")
    }

    static let converseURL = "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    static let converseBody = Array(#"{"messages":[{"role":"user","content":[{"text":"Hello"}]}]}"#.utf8)
    static let converseHeaders = [("Content-Type", "application/json"), ("Accept", "application/json")]
    static let botocoreAuthorization = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250301/us-east-1/bedrock/aws4_request, "
        + "SignedHeaders=accept;content-type;host;x-amz-date, "
        + "Signature=c3b5fcc043cc8849f381117dcaa61e5da5cfb849100512199ea198231344e2e5"
    static let botocoreAuthorizationWithToken = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250301/us-east-1/bedrock/aws4_request, "
        + "SignedHeaders=accept;content-type;host;x-amz-date;x-amz-security-token, "
        + "Signature=71bad42f5097aa6adbff34c6859f20bd6879f6c76fd15fbdecdb357b7616f691"

    /// A Converse call as tollgate sends it. The expected values were computed with botocore's
    /// `SigV4Auth` (service `bedrock`) for the same request, as a cross-check of the reference signer.
    @Test func referenceSignerMatchesBotocoreForBedrock() {
        let (canonical, signed) = SigV4TestSigner.canonicalRequest(method: "POST", url: Self.converseURL,
                                                                   headers: Self.converseHeaders, body: Self.converseBody,
                                                                   date: "20250301T120000Z")
        #expect(canonical.split(separator: "\n")[1] == "/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse")
        #expect(signed == "accept;content-type;host;x-amz-date")
        let sign = { (headers: [(String, String)]) in
            SigV4TestSigner.authorization(method: "POST", url: Self.converseURL, headers: headers, body: Self.converseBody,
                                          date: "20250301T120000Z", region: "us-east-1", service: "bedrock",
                                          accessKey: "AKIDEXAMPLE", secretKey: Self.secret)
        }
        #expect(sign(Self.converseHeaders) == Self.botocoreAuthorization)
        #expect(sign(Self.converseHeaders + [("x-amz-security-token", "FQoGZXIvYXdzEXAMPLE")])
            == Self.botocoreAuthorizationWithToken)
    }

    /// The same request signed by tollgate: the colon is signed as `%253A`, as AWS (and botocore) do.
    @Test func signerMatchesBotocoreForBedrock() {
        let sign = { (token: String?) in
            SigV4.sign(method: "POST", url: Self.converseURL, headers: Self.converseHeaders, body: Self.converseBody,
                       date: "20250301T120000Z", region: "us-east-1", service: "bedrock", accessKey: "AKIDEXAMPLE",
                       secretKey: Self.secret, sessionToken: token)
        }
        let canonical = SigV4.canonicalRequest(method: "POST", url: Self.converseURL, headers: Self.converseHeaders,
                                               body: Self.converseBody).text
        #expect(canonical.split(separator: "\n")[1] == "/model/anthropic.claude-3-5-sonnet-20240620-v1%253A0/converse")
        let plain = sign(nil)
        #expect(plain.map(\.0) == ["X-Amz-Date", "Authorization"])
        #expect(plain.last?.1 == Self.botocoreAuthorization)
        let withToken = sign("FQoGZXIvYXdzEXAMPLE")
        #expect(withToken.map(\.0) == ["X-Amz-Date", "x-amz-security-token", "Authorization"])
        #expect(withToken[1].1 == "FQoGZXIvYXdzEXAMPLE")
        #expect(withToken.last?.1 == Self.botocoreAuthorizationWithToken)
        // A token already among the headers is signed there, not added twice.
        let tokenInHeaders = SigV4.sign(method: "POST", url: Self.converseURL,
                                        headers: Self.converseHeaders + [("x-amz-security-token", "FQoGZXIvYXdzEXAMPLE")],
                                        body: Self.converseBody, date: "20250301T120000Z", region: "us-east-1",
                                        service: "bedrock", accessKey: "AKIDEXAMPLE", secretKey: Self.secret,
                                        sessionToken: "FQoGZXIvYXdzEXAMPLE")
        #expect(tokenInHeaders.map(\.0) == ["X-Amz-Date", "Authorization"])
        #expect(tokenInHeaders.last?.1 == Self.botocoreAuthorizationWithToken)
    }

    @Test(arguments: [(0, "19700101T000000Z"), (1_440_938_160, "20150830T123600Z"), (951_782_400, "20000229T000000Z"),
                      (1_740_830_400, "20250301T120000Z"), (4_102_444_799, "20991231T235959Z"), (-1, "19691231T235959Z")])
    func timestamps(_ seconds: Int, _ expected: String) {
        #expect(SigV4.timestamp(secondsSince1970: seconds) == expected)
    }

    @Test func scopeFromCurlOption() {
        let url = "https://bedrock-runtime.eu-west-3.amazonaws.com/model/m/converse"
        #expect(SigV4.scope(curlOption: "aws:amz:us-east-1:bedrock", url: url) == ("us-east-1", "bedrock"))
        #expect(SigV4.scope(curlOption: "aws:amz", url: url) == ("eu-west-3", "bedrock-runtime"))
        #expect(SigV4.scope(curlOption: "aws:amz:ap-south-1", url: url) == ("ap-south-1", "bedrock-runtime"))
    }

    @Test func hostPathAndQueryAsCurlSendsThem() {
        #expect(SigV4.split("https://bedrock-runtime.us-east-1.amazonaws.com:443/model/a%3A0/invoke") ==
            ("bedrock-runtime.us-east-1.amazonaws.com", "/model/a%3A0/invoke", ""))
        #expect(SigV4.split("http://127.0.0.1:8080?b=2&a=1#top") == ("127.0.0.1:8080", "/", "b=2&a=1"))
        #expect(SigV4.split("http://user:pw@example.com:80/x") == ("example.com", "/x", ""))
        #expect(SigV4.split("https://example.com:80/x") == ("example.com:80", "/x", ""))
        #expect(SigV4.canonicalQuery("b=2&a=x%2fy&a=1&c") == "a=1&a=x%2Fy&b=2&c=")
    }
}
