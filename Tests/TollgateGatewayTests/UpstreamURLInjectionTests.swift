import Foundation
import Testing
import TollgateCore
import TollgateTestSupport
import TollgateWire

/// Client-supplied model ids (and configured deployments) never change the upstream path,
/// query or method: each protocol sends them as one percent-encoded segment, or tollgate
/// answers 400 without calling the upstream. Checked on what a fake upstream really received.
@Suite struct UpstreamURLInjectionTests {
    /// Ids that tried to reach another path, add a query, cut the URL or switch the method.
    static let hostileIDs = [
        "g/../../../v1beta/tunedModels#", "m?alt=sse&key=stolen", "gemini-pro:countTokens", "a%2F..%2Fb",
        "..", "x/../../y", "m#frag", "sp ace", "tunedModels/../../files",
    ]
    /// Ids refused before any upstream call: control characters everywhere, dot segments where
    /// the protocol puts the id in the path (in a JSON body they are harmless text).
    static let controlIDs = ["m\r\nX-Injected: 1", "m\u{0}", "m\n", "m\u{7F}"]
    static let dotIDs = ["..", "tunedModels/.."]

    /// One protocol: its provider type and extra config, the endpoint, and the path it must use for `id`.
    struct Case: Sendable, CustomStringConvertible {
        var type: String
        var extra: String
        var path: String
        var expected: @Sendable (String) -> String
        var description: String { "\(type) \(path)" }
    }

    static let cases: [Case] = [
        Case(type: "gemini", extra: "", path: "/v1/chat/completions",
             expected: { "/v1beta/" + gemini($0) + ":generateContent" }),
        Case(type: "gemini", extra: "", path: "/v1/embeddings",
             expected: { "/v1beta/" + gemini($0) + ":batchEmbedContents" }),
        Case(type: "bedrock", extra: #", "region": "us-east-1""#, path: "/v1/chat/completions",
             expected: { "/model/" + PathSegment.percentEncode($0) + "/converse" }),
        Case(type: "bedrock", extra: #", "region": "us-east-1""#, path: "/v1/embeddings",
             expected: { "/model/" + PathSegment.percentEncode($0) + "/invoke" }),
        Case(type: "anthropic", extra: "", path: "/v1/chat/completions", expected: { _ in "/v1/messages" }),
        Case(type: "openai_compatible", extra: "", path: "/v1/chat/completions", expected: { _ in "/v1/chat/completions" }),
        Case(type: "openai_compatible", extra: #", "protocol": "openai_responses""#, path: "/v1/chat/completions",
             expected: { _ in "/v1/responses" }),
        Case(type: "openai_compatible", extra: "", path: "/v1/embeddings", expected: { _ in "/v1/embeddings" }),
    ]

    static func gemini(_ id: String) -> String {
        let (collection, name) = id.hasPrefix("tunedModels/") ? ("tunedModels", String(id.dropFirst(12))) : ("models", id)
        return collection + "/" + PathSegment.percentEncode(name)
    }

    func gateway(type: String, extra: String, upstream: FakeUpstream) throws -> InProcessGateway {
        let base = type == "openai_compatible" ? upstream.baseURL : "http://127.0.0.1:\(upstream.port)"
        return try InProcessGateway(config: #"""
            {"listen": "127.0.0.1:0", "providers": {"p": {"type": "\#(type)", "base_url": "\#(base)", "api_key": "k", "retries": 0\#(extra)}}}
            """#)
    }

    static func body(path: String, model: String) -> String {
        let id = String(data: try! JSONSerialization.data(withJSONObject: ["p/" + model], options: [.fragmentsAllowed]),
                        encoding: .utf8)!.dropFirst().dropLast()
        return path.hasSuffix("embeddings") ? #"{"model":\#(id),"input":["hello"]}"#
            : #"{"model":\#(id),"messages":[{"role":"user","content":"hi"}]}"#
    }

    @Test(arguments: cases)
    func aHostileModelIDStaysOneSegmentOrIsRefused(_ c: Case) throws {
        let inPath = c.type == "gemini" || c.type == "bedrock"
        for id in Self.hostileIDs + Self.controlIDs + Self.dotIDs {
            let upstream = try FakeUpstream { _, conn in
                try conn.respond(status: 400, body: #"{"error":{"message":"no","type":"invalid_request_error"}}"#)
            }
            defer { upstream.stop() }
            let gate = try gateway(type: c.type, extra: c.extra, upstream: upstream)
            let writer = gate.send("POST", c.path, body: Self.body(path: c.path, model: id))
            #expect(writer.wait())
            let received = upstream.requests
            // `tunedModels/..` is a dot segment only for Gemini, which keeps the collection prefix.
            if Self.controlIDs.contains(id) || (inPath && id == "..") || (c.type == "gemini" && Self.dotIDs.contains(id)) {
                #expect(writer.status == 400, "\(c) \(id.debugDescription)")
                #expect(received.isEmpty, "\(c) \(id.debugDescription) reached \(received.map(\.path))")
                continue
            }
            #expect(received.count <= 1, "\(c) \(id.debugDescription)")
            guard let request = received.first else {
                #expect(writer.status == 400, "\(c) \(id.debugDescription) neither sent nor refused")
                continue
            }
            var path = request.path
            #expect(!path.contains("?") && !path.contains("#"), "\(c) \(id.debugDescription) sent \(path)")
            if let q = path.firstIndex(of: "?") { path = String(path[..<q]) }
            #expect(path == c.expected(id), "\(c) \(id.debugDescription)")
            #expect(request.method == "POST")
        }
    }

    @Test func theGeminiStreamQueryIsOnlyTollgatesOwn() throws {
        let upstream = try FakeUpstream { _, conn in try conn.respond(status: 400, body: #"{"error":{"message":"no"}}"#) }
        let gate = try gateway(type: "gemini", extra: "", upstream: upstream)
        let writer = gate.send("POST", "/v1/chat/completions",
                               body: #"{"model":"p/m?alt=json&key=x","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
        #expect(writer.wait())
        #expect(upstream.requests.first?.path == "/v1beta/models/m%3Falt%3Djson%26key%3Dx:streamGenerateContent?alt=sse")
    }

    @Test func anAzureDeploymentIsOneSegmentAndDotSegmentsAreRefused() throws {
        let upstream = try FakeUpstream { _, conn in try conn.respond(status: 200, body: Canned.completion(model: "m")) }
        func config(_ deployment: String) -> String {
            #"{"providers": {"az": {"type": "azure", "endpoint": "http://127.0.0.1:\#(upstream.port)", "deployment": "\#(deployment)", "api_version": "2024-10-21&x=1", "api_key": "k"}}}"#
        }
        let gate = try InProcessGateway(config: config("dep/../../other?x=1#"))
        let writer = gate.send("POST", "/v1/chat/completions", body: chatBody(model: "az/m"))
        #expect(writer.wait())
        #expect(upstream.requests.first?.path
            == "/openai/deployments/dep%2F..%2F..%2Fother%3Fx%3D1%23/chat/completions?api-version=2024-10-21%26x%3D1")
        #expect(throws: (any Error).self) {
            try WireRegistry.resolve(try Config.parse(Array(config("..").utf8)), environment: [:])
        }
    }
}
