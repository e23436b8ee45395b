import Dispatch
import Foundation
import Testing
import TollgateCore
import TollgateHTTP
import TollgateTestSupport
@testable import TollgateUpstream
import TollgateWire

/// Bedrock requests with an access key pair go through a real `UpstreamClient` to a fake upstream;
/// the `Authorization` header it received is checked against `SigV4TestSigner`, an independent
/// implementation of AWS's algorithm, fed with the request exactly as the upstream saw it.
@Suite struct BedrockSigningTests {
    static let accessKey = "AKIDEXAMPLE"
    static let secretKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"

    /// curl's own signing (forced on whatever its version), on a model id without ':', which
    /// even curl 7.88 signs right. This is the product owner's acceptance test.
    @Test(arguments: [nil, "FQoGZXIvYXdzEXAMPLE"])
    func curlSignatureMatchesAWSAlgorithm(sessionToken: String?) throws {
        let upstream = try FakeUpstream { _, conn in try conn.respond(status: 200, body: Self.converseAnswer) }
        let status = try send(bedrockRequest(upstream, model: "amazon.nova-lite-v1", sessionToken: sessionToken),
                              signer: .curl)
        #expect(status == 200)
        let seen = try #require(upstream.requests.first)
        #expect(seen.path == "/model/amazon.nova-lite-v1/converse")
        #expect(seen.header("Expect") == nil)
        try expectValidSignature(seen, signedHeaders: sessionToken == nil
            ? "accept;content-type;host;x-amz-date" : "accept;content-type;host;x-amz-date;x-amz-security-token")
        #expect(seen.header("x-amz-security-token") == sessionToken)
    }

    /// Tollgate's signer on a model id with ':' (sent as `%3A`, signed as `%253A`, as AWS does).
    @Test(arguments: [nil, "FQoGZXIvYXdzEXAMPLE"])
    func swiftSignatureMatchesAWSAlgorithmForColonModelID(sessionToken: String?) throws {
        let upstream = try FakeUpstream { _, conn in try conn.respond(status: 200, body: Self.converseAnswer) }
        let status = try send(bedrockRequest(upstream, model: "anthropic.claude-3-haiku-20240307-v1:0",
                                             sessionToken: sessionToken),
                              signer: .tollgate)
        #expect(status == 200)
        let seen = try #require(upstream.requests.first)
        #expect(seen.path == "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse")
        let canonical = SigV4TestSigner.canonicalRequest(method: seen.method, url: "http://host" + seen.path,
                                                         headers: [], body: seen.body, date: "20250301T120000Z").canonical
        #expect(canonical.split(separator: "\n")[1] == "/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse")
        try expectValidSignature(seen, signedHeaders: sessionToken == nil
            ? "accept;content-type;host;x-amz-date" : "accept;content-type;host;x-amz-date;x-amz-security-token")
        #expect(seen.header("x-amz-security-token") == sessionToken)
    }

    /// Whatever the linked curl, the default choice signs a colon model id correctly.
    @Test func automaticSignerHandlesColonModelIDs() throws {
        let upstream = try FakeUpstream { _, conn in try conn.respond(status: 200, body: Self.converseAnswer) }
        let request = try bedrockRequest(upstream, model: "anthropic.claude-3-haiku-20240307-v1:0",
                                         sessionToken: "FQoGZXIvYXdzEXAMPLE")
        #expect(try send(request, signer: .automatic) == 200)
        let seen = try #require(upstream.requests.first)
        try expectValidSignature(seen, signedHeaders: "accept;content-type;host;x-amz-date;x-amz-security-token")
    }

    /// Why the fallback exists: before 8.14 curl signs the path as sent, so AWS would reject it.
    @Test(.enabled(if: !UpstreamClient.curlSignsSigV4Correctly))
    func oldCurlMisSignsColonModelIDs() throws {
        let upstream = try FakeUpstream { _, conn in try conn.respond(status: 200, body: Self.converseAnswer) }
        let request = try bedrockRequest(upstream, model: "anthropic.claude-3-haiku-20240307-v1:0", sessionToken: nil)
        #expect(try send(request, signer: .curl) == 200)
        let seen = try #require(upstream.requests.first)
        let (sent, expected) = try authorizations(seen)
        #expect(sent != expected)
    }

    /// The request of botocore's published example (see `SigV4Tests`), sent by tollgate at the
    /// example's date with the example's Host: tollgate's header is byte for byte botocore's.
    @Test func swiftSignatureMatchesBotocoreExample() throws {
        let upstream = try FakeUpstream { _, conn in try conn.respond(status: 200, body: Self.converseAnswer) }
        var request = UpstreamRequest(url: "http://127.0.0.1:\(upstream.port)/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse",
                                      headers: HTTPHeaders([("Content-Type", "application/json"), ("Accept", "application/json"),
                                                            ("Host", "bedrock-runtime.us-east-1.amazonaws.com")]),
                                      body: Array(#"{"messages":[{"role":"user","content":[{"text":"Hello"}]}]}"#.utf8))
        request.awsSigV4 = "aws:amz:us-east-1:bedrock"
        request.awsCredentials = (Self.accessKey, Self.secretKey)
        #expect(try send(request, signer: .tollgate, clock: 1_740_830_400) == 200)
        let seen = try #require(upstream.requests.first)
        #expect(seen.header("X-Amz-Date") == "20250301T120000Z")
        #expect(seen.header("Authorization") == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250301/us-east-1/bedrock/aws4_request, "
            + "SignedHeaders=accept;content-type;host;x-amz-date, "
            + "Signature=c3b5fcc043cc8849f381117dcaa61e5da5cfb849100512199ea198231344e2e5")
    }

    @Test func curlVersionIsKnown() {
        // CURLOPT_AWS_SIGV4 exists since 7.75.0.
        #expect(UpstreamClient.curlVersionNumber >= 0x074B00)
        #expect(UpstreamClient.curlSignsSigV4Correctly == (UpstreamClient.curlVersionNumber >= 0x080E00))
    }

    // MARK: helpers

    static let converseAnswer = #"{"output":{"message":{"role":"assistant","content":[{"text":"Hi"}]}},"stopReason":"end_turn","usage":{"inputTokens":3,"outputTokens":1,"totalTokens":4}}"#

    /// A Converse request as tollgate builds it for a Bedrock provider at the fake upstream.
    func bedrockRequest(_ upstream: FakeUpstream, model: String, sessionToken: String?) throws -> UpstreamRequest {
        let provider = ResolvedProvider(name: "aws", type: "bedrock", baseURL: "http://127.0.0.1:\(upstream.port)",
                                        chat: BedrockConverse(), auth: BedrockAuth(),
                                        credentials: ProviderCredentials(accessKeyID: Self.accessKey,
                                                                         secretAccessKey: Self.secretKey,
                                                                         sessionToken: sessionToken),
                                        fields: ["region": "us-east-1"])
        let json: JSONValue = ["model": "m", "messages": [["role": "user", "content": "Hello"]]]
        let input = ChatRequestInput(json: json, rawBody: json.serialized(), model: "m", stream: false)
        let context = provider.chatContext(upstreamModel: model, stream: false, clientWantsUsage: false, maxOutputTokens: nil,
                                           requestID: "req_test", created: 0)
        let request = try provider.upstreamRequest(for: input, context: context)
        #expect(request.awsSigV4 == "aws:amz:us-east-1:bedrock")
        return request
    }

    /// Sends `request` through a fresh client on its own queue; the response status.
    func send(_ request: UpstreamRequest, signer: UpstreamClient.SigV4Signer, clock: Int? = nil) throws -> Int {
        let loop = EventLoop(index: 0)
        let queue = loop.queue
        let recorder = Recorder()
        let client = queue.sync {
            let client = UpstreamClient(loop: loop)
            client.sigV4Signer = signer
            if let clock { client.sigV4Clock = { clock } }
            let transfer = client.makeTransfer(request, delegate: recorder)
            recorder.transfer = transfer
            transfer.start()
            return client
        }
        defer { queue.sync { client.close() } }
        guard recorder.done.wait(timeout: .now() + 10) == .success else { throw TestError("the transfer never ended") }
        if let error = queue.sync(execute: { recorder.error }) { throw TestError("transfer failed: \(error)") }
        return queue.sync { recorder.status }
    }

    /// The Authorization header the upstream received, and the one the reference signer computes
    /// from the received request, over the header names the received one lists as signed.
    func authorizations(_ seen: RecordedRequest) throws -> (sent: String, expected: String) {
        let sent = try #require(seen.header("Authorization"))
        let date = try #require(seen.header("X-Amz-Date"))
        let host = try #require(seen.header("Host"))
        let listed = try #require(sent.split(separator: " ").first { $0.hasPrefix("SignedHeaders=") })
        let names = listed.dropFirst("SignedHeaders=".count).trimmingCharacters(in: [","]).split(separator: ";").map(String.init)
        let signed = seen.headers.filter { names.contains($0.0.lowercased()) }
        let expected = SigV4TestSigner.authorization(method: seen.method, url: "http://\(host)\(seen.path)", headers: signed,
                                                     body: seen.body, date: date, region: "us-east-1", service: "bedrock",
                                                     accessKey: Self.accessKey, secretKey: Self.secretKey)
        return (sent, expected)
    }

    /// The received signature is AWS's for the received request, and it signs exactly `signedHeaders`,
    /// every one of which was sent.
    func expectValidSignature(_ seen: RecordedRequest, signedHeaders: String,
                              sourceLocation: SourceLocation = #_sourceLocation) throws {
        let (sent, expected) = try authorizations(seen)
        #expect(sent.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\(seen.header("X-Amz-Date")?.prefix(8) ?? "?")"
            + "/us-east-1/bedrock/aws4_request, SignedHeaders=\(signedHeaders), Signature="), sourceLocation: sourceLocation)
        #expect(sent == expected, sourceLocation: sourceLocation)
    }
}

/// Keeps a transfer alive and notes how it ended. Lives on the client's queue.
private final class Recorder: UpstreamTransferDelegate {
    var transfer: UpstreamTransfer?
    var status = 0
    var error: UpstreamError?
    let done = DispatchSemaphore(value: 0)

    func transferDidReceiveHead(_ transfer: UpstreamTransfer, status: Int, headers: HTTPHeaders) { self.status = status }
    func transferDidReceive(_ transfer: UpstreamTransfer, bytes: UnsafeRawBufferPointer) {}
    func transferDidComplete(_ transfer: UpstreamTransfer, error: UpstreamError?) {
        self.error = error
        self.transfer = nil
        done.signal()
    }
}
