import Foundation
import Testing
import TollgateCore
import TollgateTestSupport

/// An upstream that sends its head and then falls silent is abandoned after the idle timeout
/// (`idle_timeout_seconds`), not after the whole `timeout_seconds`: for the next candidate
/// while the client has seen nothing, with an error event once the stream has started.
@Suite struct IdleTimeoutTests {
    /// Providers `a` (stalling, idle timeout 0.3 s, total timeout 6 s) and `b`.
    func gateway(_ a: FakeUpstream, _ b: FakeUpstream? = nil) throws -> InProcessGateway {
        var providers = [("a", a.baseURL, ["m"])]
        if let b { providers.append(("b", b.baseURL, ["m"])) }
        let json = GatewayHarness.config(providers, extra: #""timeout_seconds": 6"#)
            .replacingOccurrences(of: #""api_key": "key-a""#, with: #""api_key": "key-a", "idle_timeout_seconds": 0.3"#)
        return try InProcessGateway(config: json)
    }

    static func stall() { usleep(3_000_000) }

    @Test func aSilentAnswerFailsOverBeforeTheClientSawAnything() throws {
        let stalling = try FakeUpstream { _, conn in
            try conn.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{\"id\":")
            Self.stall()
            conn.close()
        }
        let healthy = try Upstreams.healthy("from b")
        let gate = try gateway(stalling, healthy)
        let started = Date()
        let writer = gate.send("POST", "/v1/chat/completions", body: chatBody(model: "m"))
        #expect(writer.wait())
        #expect(Date().timeIntervalSince(started) < 2)
        #expect(writer.status == 200)
        #expect(writer.headers["x-tollgate-provider"] == "b")
        #expect(writer.json?["choices"]?[0]?["message"]?["content"]?.stringValue == "from b")
    }

    @Test func aStalledStreamEndsWithAnErrorEvent() throws {
        let stalling = try FakeUpstream { _, conn in
            try conn.startStream()
            try conn.chunk(Canned.chunk("first"))
            Self.stall()
            conn.close()
        }
        let gate = try gateway(stalling)
        let started = Date()
        let writer = gate.send("POST", "/v1/chat/completions", body: chatBody(model: "m", stream: true))
        #expect(writer.wait())
        #expect(Date().timeIntervalSince(started) < 2)
        let events = sseData(writer.body)
        #expect(events.first?.contains("first") == true)
        #expect(events.last?.contains("sent nothing for 0.3 s") == true, "\(events)")
        let rows = try gate.ledger.allRows()
        #expect(rows.last?.outcome == .upstreamError)
    }

    @Test func aSlowButSteadyStreamIsNotCut() throws {
        let steady = try FakeUpstream { _, conn in
            try conn.startStream()
            for i in 0..<6 {
                usleep(150_000)
                try conn.chunk(Canned.chunk("part\(i)"))
            }
            try conn.chunk(Canned.finish + Canned.done)
            try conn.endChunks()
        }
        let gate = try gateway(steady)
        let writer = gate.send("POST", "/v1/chat/completions", body: chatBody(model: "m", stream: true))
        #expect(writer.wait())
        let events = sseData(writer.body)
        #expect(events.contains { $0.contains("part5") })
        #expect(events.last == "[DONE]")
    }

    @Test func theIdleTimeoutIsConfigurable() throws {
        let config = try Config.parse(Array(#"{"providers": {"p": {"type": "openai", "api_key": "k", "idle_timeout_seconds": 5}}, "failover": {"idle_timeout_seconds": 20}}"#.utf8))
        #expect(config.providers.first?.idleTimeoutSeconds == 5)
        #expect(config.failover.idleTimeoutSeconds == 20)
        #expect(config.unknownKeys.isEmpty)
        #expect(FailoverSettings().idleTimeoutSeconds == 60)
    }
}
