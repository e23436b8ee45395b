import Foundation
import Logging
import Testing
import TollgateCore
import TollgateTestSupport

/// One log line per request at `info`; none below it, while metrics still count every request.
@Suite struct RequestLogTests {
    func gateway(level: Logger.Level, logs: SecretRedactionTests.LogLines) throws -> (InProcessGateway, FakeUpstream) {
        let upstream = try Upstreams.healthy("logged")
        var logger = logs.logger
        logger.logLevel = level
        return (try InProcessGateway(config: GatewayHarness.config([("a", upstream.baseURL, ["m"])]), logger: logger), upstream)
    }

    /// The log lines once `count` are there (an exchange logs right after its answer is written).
    func lines(_ logs: SecretRedactionTests.LogLines, count: Int) -> [String] {
        let deadline = Date().addingTimeInterval(5)
        var lines = logs.lines.withLock { $0 }
        while lines.count < count, Date() < deadline {
            usleep(10_000)
            lines = logs.lines.withLock { $0 }
        }
        return lines
    }

    @Test func atInfoEachRequestIsOneLineWithItsMetadata() throws {
        let logs = SecretRedactionTests.LogLines()
        let (gate, upstream) = try gateway(level: .info, logs: logs)
        let health = gate.send("GET", "/health?verbose=1")
        #expect(health.wait())
        let chat = gate.send("POST", "/v1/chat/completions", body: chatBody(model: "m"))
        #expect(chat.wait())
        let lines = lines(logs, count: 2)
        #expect(lines.count == 2)
        #expect(lines.first?.hasPrefix("GET /health model=- provider=- status=200 duration=") == true, "\(lines)")
        let chatLine = lines.last ?? ""
        #expect(chatLine.hasPrefix("POST /v1/chat/completions model=m provider=a status=200 duration="), "\(chatLine)")
        #expect(chatLine.contains(try #require(chat.headers["x-tollgate-request-id"])))
        #expect(chatLine.contains("cost_usd") && chatLine.contains("provider") && chatLine.contains("model"))
        withExtendedLifetime(upstream) {}
    }

    @Test func belowInfoNothingIsLoggedAndMetricsStillCount() throws {
        let logs = SecretRedactionTests.LogLines()
        let (gate, upstream) = try gateway(level: .warning, logs: logs)
        let health = gate.send("GET", "/health")
        #expect(health.wait())
        let chat = gate.send("POST", "/v1/chat/completions", body: chatBody(model: "m"))
        #expect(chat.wait())
        #expect(chat.status == 200)
        // The exchange's metrics are recorded right after its answer, on the same loop as the next request.
        usleep(50_000)
        let metrics = gate.send("GET", "/metrics")
        #expect(metrics.wait())
        #expect(metrics.text.contains(#"tollgate_requests_total{api="health",provider="none",model="none",status="200"} 1"#),
                "\(metrics.text)")
        #expect(metrics.text.contains(#"tollgate_requests_total{api="chat",provider="a",model="m",status="200"} 1"#))
        #expect(logs.lines.withLock { $0 }.isEmpty)
        withExtendedLifetime(upstream) {}
    }
}
