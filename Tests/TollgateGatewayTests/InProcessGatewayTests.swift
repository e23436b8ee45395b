import Foundation
import Testing
import TollgateCore
import TollgateLedger
import TollgateTestSupport

/// The gateway driven in-process through a recording `ResponseWriter`: no listening socket,
/// no HTTP parsing; only the upstreams are fakes on 127.0.0.1.
@Suite struct InProcessGatewayTests {
    func gateway(_ providers: [(name: String, url: String, models: [String])], failover: String = "{}") throws -> InProcessGateway {
        try InProcessGateway(config: GatewayHarness.config(providers, failover: failover))
    }

    @Test func anUnknownPathListsEveryEndpoint() throws {
        let gate = try gateway([("a", "http://127.0.0.1:9", ["m"])])
        let writer = gate.send("GET", "/v1/nothing")
        #expect(writer.wait())
        #expect(writer.status == 404)
        let message = writer.json?["error"]?["message"]?.stringValue ?? ""
        for endpoint in ["POST /v1/chat/completions", "POST /v1/embeddings", "GET /v1/models", "GET /health",
                         "GET /admin/providers", "GET /admin/spend"] {
            #expect(message.contains(endpoint), "\(endpoint) missing from: \(message)")
        }
    }

    @Test func aChatCompletionAndItsLedgerRow() throws {
        let upstream = try Upstreams.healthy("in process")
        let gate = try gateway([("a", upstream.baseURL, ["m"])])
        let writer = gate.send("POST", "/v1/chat/completions", body: chatBody(model: "m"))
        #expect(writer.wait())
        #expect(writer.status == 200)
        #expect(writer.headers["x-tollgate-provider"] == "a")
        #expect(writer.json?["choices"]?[0]?["message"]?["content"]?.stringValue == "in process")
        // The row was committed before the answer was written.
        let rows = try gate.ledger.allRows()
        #expect(rows.count == 1)
        #expect(rows.first?.outcome == .ok)
        #expect(rows.first?.usage.completionTokens == 4)
    }

    /// A Chat Completions answer from an `openai_chat` upstream reaches the client as the upstream's
    /// bytes (its spacing, key order, escapes, vendor fields and model id kept); only `usage` is read.
    @Test func aCompletionIsRelayedAsTheUpstreamsBytesAndItsUsageBooked() throws {
        let sent = "{ \"id\":\"chatcmpl-9\",\n  \"model\": \"m-2024-08\", \"object\":\"chat.completion\",\"created\":1,"
            + #""choices":[{"index":0,"message":{"role":"assistant","content":"caf\u00e9 \"ok\"","refusal":null},"#
            + #""logprobs":null,"finish_reason":"stop"}],"system_fingerprint":"fp_x","x_vendor":{"a":[1,2.50,true]},"#
            + #""usage":{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500,"#
            + #""prompt_tokens_details":{"cached_tokens":200},"completion_tokens_details":{"reasoning_tokens":7}} }"#
        let upstream = try FakeUpstream { _, conn in try conn.respond(status: 200, body: sent) }
        let gate = try InProcessGateway(config: pricedConfig(upstream.baseURL))
        let writer = gate.send("POST", "/v1/chat/completions", body: chatBody(model: "m"))
        #expect(writer.wait())
        #expect(writer.status == 200)
        #expect(writer.body == Array(sent.utf8))
        #expect(writer.headers["Content-Type"] == "application/json")
        #expect(writer.headers["x-tollgate-cost-usd"] == "0.0057")
        let row = try #require(try gate.ledger.allRows().first)
        #expect(row.outcome == .ok)
        #expect(row.usage == Usage(promptTokens: 1000, completionTokens: 500, cachedTokens: 200, reasoningTokens: 7))
        #expect(row.tokensEstimated == false)
        #expect(abs(row.costUSD - expectedCost) < 1e-12)
    }

    @Test func aCompletionThatIsNotJSONIsAnUpstreamError() throws {
        let upstream = try FakeUpstream { _, conn in try conn.respond(status: 200, body: #"{"choices":[ oops"#) }
        let gate = try InProcessGateway(config: pricedConfig(upstream.baseURL))
        let writer = gate.send("POST", "/v1/chat/completions", body: chatBody(model: "m"))
        #expect(writer.wait())
        #expect(writer.status == 502)
        #expect(writer.json?["error"]?["message"]?.stringValue
            == "The upstream answered HTTP 200 with a body that is not a JSON object.")
        #expect(writer.json?["error"]?["code"]?.stringValue == "invalid_upstream_response")
        let rows = try waitForRows(gate, count: 1)
        #expect(rows.map(\.outcome) == [.upstreamError])
        #expect(rows.first?.status == 502)
    }

    @Test func aStreamEndsWithDoneAfterItsChunks() throws {
        let upstream = try Upstreams.healthy("streamed")
        let gate = try gateway([("a", upstream.baseURL, ["m"])])
        let writer = gate.send("POST", "/v1/chat/completions", body: chatBody(model: "m", stream: true))
        #expect(writer.wait())
        #expect(writer.status == 200)
        #expect(writer.headers["Content-Type"] == "text/event-stream")
        let events = sseData(writer.body)
        #expect(events.first?.contains("streamed") == true)
        #expect(events.last == "[DONE]")
    }

    @Test func aClientThatHangsUpMidStreamIsBookedAsCancelled() throws {
        let upstream = try FakeUpstream { _, conn in
            try conn.startStream()
            try conn.chunk(Canned.chunk("first"))
            usleep(300_000)
            try? conn.chunk(Canned.chunk("second") + Canned.finish + Canned.done)
            try? conn.endChunks()
        }
        let gate = try gateway([("a", upstream.baseURL, ["m"])])
        let writer = gate.send("POST", "/v1/chat/completions", body: chatBody(model: "m", stream: true)) { writer in
            writer.onChunk = { $0.hangUp() }
        }
        #expect(writer.wait())
        let rows = try waitForRows(gate, count: 1)
        #expect(rows.first?.outcome == .clientCancelled)
        #expect(rows.first?.status == 499)
        #expect(rows.first?.tokensEstimated == true)
        #expect((rows.first?.usage.completionTokens ?? 0) > 0)
    }

    @Test func everyProviderFailingGivesOneErrorNamingEachAttempt() throws {
        let a = try Upstreams.status(500, message: "a broke")
        let b = try Upstreams.status(503, message: "b is down")
        let gate = try gateway([("a", a.baseURL, ["m"]), ("b", b.baseURL, ["m"])])
        let writer = gate.send("POST", "/v1/chat/completions", body: chatBody(model: "m"))
        #expect(writer.wait())
        #expect(writer.status == 502)
        let message = writer.json?["error"]?["message"]?.stringValue ?? ""
        #expect(message.contains("a/m: 500 a broke"))
        #expect(message.contains("b/m: 503 b is down"))
        let rows = try waitForRows(gate, count: 2)
        #expect(rows.map(\.outcome) == [.failedOver, .upstreamError])
    }

    @Test func equalPrioritiesShareTheLoadByWeight() throws {
        let a = try Upstreams.healthy("from a")
        let b = try Upstreams.healthy("from b")
        var config = GatewayHarness.config([("a", a.baseURL, ["m"]), ("b", b.baseURL, ["m"])])
        config = config.replacingOccurrences(of: #""priority": 2"#, with: #""priority": 1, "weight": 3"#)
        let gate = try InProcessGateway(config: config)
        var served: [String: Int] = [:]
        for _ in 0..<40 {
            let writer = gate.send("POST", "/v1/chat/completions", body: chatBody(model: "m"))
            #expect(writer.wait())
            served[writer.headers["x-tollgate-provider"] ?? "?", default: 0] += 1
        }
        // b weighs 3 against a's 1: both serve, b clearly more (a binomial draw: b's mean is 30,
        // its standard deviation 2.7; the bounds fail about once in 3,000 runs).
        #expect((served["a"] ?? 0) >= 1 && (served["b"] ?? 0) >= 20, "\(served)")
    }

    func waitForRows(_ gate: InProcessGateway, count: Int) throws -> [TollgateLedger.LedgerRow] {
        let deadline = Date().addingTimeInterval(5)
        var rows = try gate.ledger.allRows()
        while rows.count < count, Date() < deadline {
            usleep(10_000)
            rows = try gate.ledger.allRows()
        }
        return rows
    }
}
