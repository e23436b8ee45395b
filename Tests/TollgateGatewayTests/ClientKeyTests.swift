import Foundation
import Testing
import TollgateCore
import TollgateTestSupport

/// `"byok": true`: a request's `x-tollgate-provider-key` authenticates that request only; it
/// reaches the upstream, never the log, an error or another provider.
@Suite struct ClientKeyTests {
    static let clientKey = "sk-client-own-Key0123456789abcdef"

    static func config(_ providers: [(name: String, url: String, extra: String)]) -> String {
        let entries = providers.enumerated().map { i, p in
            #""\#(p.name)": {"type": "openai_compatible", "base_url": "\#(p.url)", "priority": \#(i + 1), "retries": 0, "models": ["m"]\#(p.extra)}"#
        }
        return #"{"providers": {\#(entries.joined(separator: ","))}}"#
    }

    @Test func theClientsKeyReachesTheUpstreamAndNotTheLog() throws {
        let upstream = try FakeUpstream { _, conn in try conn.respond(status: 200, body: Canned.completion(model: "m")) }
        let logs = SecretRedactionTests.LogLines()
        let gate = try InProcessGateway(config: Self.config([("b", upstream.baseURL, #", "byok": true"#)]), logger: logs.logger)
        let writer = gate.send("POST", "/v1/chat/completions", body: chatBody(model: "m"),
                               headers: [("x-tollgate-provider-key", Self.clientKey)])
        #expect(writer.wait())
        #expect(writer.status == 200)
        #expect(upstream.requests.first?.header("Authorization") == "Bearer \(Self.clientKey)")
        #expect(upstream.requests.first?.header("x-tollgate-provider-key") == nil)
        // The request's log line is written once its row is committed, just after the answer.
        let deadline = Date().addingTimeInterval(5)
        while !logs.all.contains("status=200"), Date() < deadline { usleep(10_000) }
        #expect(logs.all.contains("status=200"))
        #expect(!logs.all.contains(Self.clientKey))

        // Without the header a byok provider with no key of its own cannot serve: 401 naming the header.
        let refused = gate.send("POST", "/v1/chat/completions", body: chatBody(model: "m"))
        #expect(refused.wait())
        #expect(refused.status == 401)
        #expect(refused.text.contains("x-tollgate-provider-key"))
        #expect(upstream.requests.count == 1)
    }

    @Test func theInboundMessagesAPITakesTheClientsKeyToo() throws {
        let upstream = try FakeUpstream { _, conn in try conn.respond(status: 200, body: Canned.completion(model: "m")) }
        let gate = try InProcessGateway(config: Self.config([("b", upstream.baseURL, #", "byok": true"#)]))
        let body = #"{"model": "m", "max_tokens": 16, "messages": [{"role": "user", "content": "hi"}]}"#
        let writer = gate.send("POST", "/v1/messages", body: body, headers: [("x-tollgate-provider-key", Self.clientKey)])
        #expect(writer.wait())
        #expect(writer.status == 200, "\(writer.text)")
        #expect(upstream.requests.first?.header("Authorization") == "Bearer \(Self.clientKey)")
        let refused = gate.send("POST", "/v1/messages", body: body)
        #expect(refused.wait())
        #expect(refused.status == 401)
    }

    @Test func theClientsKeyReplacesTheOwnKeyOnlyForByokProvidersAndIsRedacted() throws {
        // Not shaped like a key: only the per-request redaction can mask it.
        let clientKey = "my.own.client.key.42"
        let echo = #"{"error":{"message":"Incorrect API key provided: \#(clientKey)!","type":"invalid_request_error"}}"#
        let byok = try FakeUpstream { request, conn in
            if request.header("Authorization") == "Bearer own-key-123456" {
                try conn.respond(status: 200, body: Canned.completion(model: "m"))
            } else {
                try conn.respond(status: 401, body: echo)
            }
        }
        let plain = try FakeUpstream { _, conn in try conn.respond(status: 200, body: Canned.completion(model: "m")) }
        let logs = SecretRedactionTests.LogLines()
        let json = Self.config([("b", byok.baseURL, #", "byok": true, "api_key": "file:/nonexistent""#),
                                ("p", plain.baseURL, #", "api_key": "plain-key-123456""#)])
        let gate = try InProcessGateway(config: json, logger: logs.logger)
        let writer = gate.send("POST", "/v1/chat/completions", body: chatBody(model: "m"),
                               headers: [("x-tollgate-provider-key", clientKey)])
        #expect(writer.wait())
        // The byok provider was tried with the client's key (401, echoed), then the next provider with its own.
        #expect(writer.status == 200)
        #expect(byok.requests.first?.header("Authorization") == "Bearer \(clientKey)")
        #expect(plain.requests.first?.header("Authorization") == "Bearer plain-key-123456")
        let deadline = Date().addingTimeInterval(5)
        while !logs.all.contains("status=200"), Date() < deadline { usleep(10_000) }
        let admin = gate.send("GET", "/admin/providers")
        #expect(admin.wait())
        for (place, text) in [("answer", writer.text), ("admin", admin.text), ("log", logs.all)] {
            #expect(!text.contains(clientKey), "\(place): \(text)")
        }
        #expect(logs.all.contains("Incorrect API key provided: [redacted]"))
    }
}
