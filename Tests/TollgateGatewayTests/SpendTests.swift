import Foundation
import Testing
import TollgateCore
import TollgateTestSupport

/// Prices for `up/m` in every spend test: $2 input, $8 output, $0.50 cached, per million tokens.
let pricedModel = #""models": {"up/m": {"input_usd_per_mtok": 2.0, "output_usd_per_mtok": 8.0, "cached_input_usd_per_mtok": 0.5, "max_output_tokens": 1000}}"#

func pricedConfig(_ url: String, budget: String = "", failover: String = "{}") -> String {
    let config = GatewayHarness.config([("up", url, ["m"])], extra: budget.isEmpty ? "" : #""budget": \#(budget)"#,
                                       failover: failover)
    return String(config.dropLast()) + ", " + pricedModel + "}"
}

/// usage 1000 prompt (200 cached) + 500 completion → (800×2 + 200×0.5 + 500×8) / 1e6 = $0.0057.
let usageJSON = #"{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":200}}"#
let expectedCost = 0.0057

@Suite struct SpendTests {
    @Test func nonStreamedCostIsExact() throws {
        let upstream = try FakeUpstream { _, conn in
            try conn.respond(status: 200, body: #"{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":\#(usageJSON)}"#)
        }
        let gate = try GatewayHarness(config: pricedConfig(upstream.baseURL))
        let response = try gate.chat(chatBody(model: "m"))
        #expect(response.status == 200)
        #expect(response.header("x-tollgate-cost-usd") == "0.0057")
        let row = try #require(try gate.ledgerRows(atLeast: 1).first)
        #expect(abs(row.costUSD - expectedCost) < 1e-12)
        #expect(row.usage == Usage(promptTokens: 1000, completionTokens: 500, cachedTokens: 200))
        #expect(row.tokensEstimated == false)
        #expect(row.streamed == false)
    }

    @Test func streamedCostIsExactAndTheUsageChunkStaysHidden() throws {
        let upstream = try FakeUpstream { request, conn in
            let asked = (request.json?["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true
            try conn.startStream()
            try conn.chunk(Canned.chunk("Hel") + Canned.chunk("lo") + Canned.finish)
            if asked {
                try conn.chunk(#"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":\#(usageJSON)}"# + "\n\n")
            }
            try conn.chunk(Canned.done)
            try conn.endChunks()
        }
        let gate = try GatewayHarness(config: pricedConfig(upstream.baseURL))
        let plain = try gate.chat(chatBody(model: "m", stream: true))
        #expect(!plain.text.contains("\"usage\""))
        #expect(sseData(plain.body).last == "[DONE]")
        let asked = try gate.chat(chatBody(model: "m", stream: true, extra: #", "stream_options": {"include_usage": true}"#))
        #expect(asked.text.contains("\"usage\""))
        let rows = try gate.ledgerRows(atLeast: 2)
        #expect(rows.count == 2)
        for row in rows {
            #expect(row.streamed)
            #expect(abs(row.costUSD - expectedCost) < 1e-12)
            #expect(row.tokensEstimated == false)
        }
        // tollgate asked the upstream for usage even when the client did not.
        #expect(upstream.requests.allSatisfy { ($0.json?["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true })
    }

    @Test func interruptedStreamIsRecordedWithEstimatedTokensNotZero() throws {
        let upstream = try FakeUpstream { _, conn in
            try conn.startStream()
            try conn.chunk(Canned.chunk(String(repeating: "word ", count: 40)))
            conn.close()
        }
        let gate = try GatewayHarness(config: pricedConfig(upstream.baseURL))
        _ = try gate.chat(chatBody(model: "m", stream: true, content: String(repeating: "question ", count: 50)))
        let row = try #require(try gate.ledgerRows(atLeast: 1).first)
        #expect(row.tokensEstimated)
        #expect(row.usage.completionTokens >= 40)
        #expect(row.usage.promptTokens >= 100)
        #expect(row.costUSD > 0)
        #expect(row.outcome == .upstreamError)
    }

    @Test func concurrentRequestsCannotOverspendABudget() throws {
        // Worst case per request (max_tokens 100): ~20 input tokens × $2 + 100 output × $8 ≈ $0.00084.
        let upstream = try FakeUpstream { _, conn in
            usleep(20_000)
            try conn.respond(status: 200, body: #"{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":100,"total_tokens":120}}"#)
        }
        // Real cost per request: (20×2 + 100×8)/1e6 = $0.00084; a budget of $0.0084 allows 10.
        let gate = try GatewayHarness(config: pricedConfig(upstream.baseURL, budget: #"{"daily_usd": 0.0084}"#))
        let statuses = Counts()
        try concurrently(100) {
            let r = try gate.chat(chatBody(model: "m", extra: #", "max_tokens": 100"#))
            statuses.add(r.status == 429 && r.errorType == "budget_exceeded" ? "budget" : String(r.status))
        }
        let rows = try gate.ledgerRows(atLeast: statuses.count("200"))
        let spent = rows.reduce(0) { $0 + $1.costUSD }
        #expect(statuses.count("200") + statuses.count("budget") == 100)
        #expect(statuses.count("200") >= 1)
        #expect(statuses.count("200") <= 10)
        #expect(spent <= 0.0084 + 0.00084 + 1e-12)
        #expect(upstream.requests.count == statuses.count("200"))
    }

    @Test func overBudgetFailsOverToTheNextProviderAndNamesTheBudgetWhenNoneIsLeft() throws {
        let a = try Upstreams.healthy("from a")
        let b = try Upstreams.healthy("from b")
        var config = GatewayHarness.config([("a", a.baseURL, ["m"]), ("b", b.baseURL, ["m"])],
                                           extra: #""budget": {"total_usd": 0.000001}"#)
        config = String(config.dropLast()) + #", "models": {"a/m": {"input_usd_per_mtok": 2, "output_usd_per_mtok": 8}}}"#
        let gate = try GatewayHarness(config: config)
        // a's worst case exceeds its budget: b (unpriced, so $0 and never blocked) serves.
        let response = try gate.chat(chatBody(model: "m"))
        #expect(response.header("x-tollgate-provider") == "b")
        #expect(a.requests.isEmpty)
        let onlyA = try gate.chat(chatBody(model: "a/m"))
        #expect(onlyA.status == 429)
        #expect(onlyA.errorType == "budget_exceeded")
        #expect(onlyA.errorMessage?.contains("total budget") == true)
    }

    @Test func budgetsContinueAfterARestart() throws {
        // Each answer costs (20×2 + 100×8)/1e6 = $0.00084, as does its worst case (max_tokens 100).
        let upstream = try FakeUpstream { _, conn in
            try conn.respond(status: 200, body: #"{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":20,"completion_tokens":100,"total_tokens":120}}"#)
        }
        let config = pricedConfig(upstream.baseURL, budget: #"{"daily_usd": 0.002, "monthly_usd": 1}"#)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-restart-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        do {
            let first = try GatewayHarness(config: config, directory: directory)
            for _ in 0..<2 { #expect(try first.chat(chatBody(model: "m", extra: #", "max_tokens": 100"#)).status == 200) }
        }
        // $0.00168 spent of $0.002: after a restart the next request's worst case no longer fits.
        let second = try GatewayHarness(config: config, directory: directory)
        let refused = try second.chat(chatBody(model: "m", extra: #", "max_tokens": 100"#))
        #expect(refused.status == 429)
        #expect(refused.errorType == "budget_exceeded")
        #expect(refused.errorMessage?.contains("daily") == true)
        #expect(upstream.requests.count == 2)
        let client = try second.client()
        try client.send("GET /admin/spend HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let spend = try client.readResponse()
        let providers = try #require(spend.json?["providers"] as? [[String: Any]])
        let up = try #require(providers.first { $0["provider"] as? String == "up" })
        #expect(abs((up["today_usd"] as? Double ?? 0) - 0.00168) < 1e-9)
        #expect(up["requests"] as? Int == 2)
        let daily = (up["budget"] as? [String: Any])?["daily_usd"] as? [String: Any]
        #expect(daily?["limit"] as? Double == 0.002)
    }
}
