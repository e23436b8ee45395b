import Testing
import TollgateCore
import TollgateLedger
@testable import TollgateGateway

/// The pieces of metrics and traces without sockets: the exposition text, histograms, how an
/// exchange is counted, `traceparent`, the OTLP/JSON shape; and the endpoints in process.
@Suite struct ObserveTests {
    static func row(_ provider: String, _ outcome: LedgerOutcome, status: Int = 200, ttfb: Double? = 5, total: Double = 20,
                    usage: Usage = Usage(promptTokens: 10, completionTokens: 4, cachedTokens: 2, reasoningTokens: 1),
                    cost: Double = 0.5) -> LedgerRow {
        LedgerRow(timeMs: 1_700_000_000_000, requestID: "req_1", route: "fast", provider: provider, model: "m",
                  streamed: false, outcome: outcome, attempt: 1, status: status, usage: usage, tokensEstimated: false,
                  costUSD: cost, ttfbMs: ttfb, totalMs: total)
    }

    static func record(_ rows: [LedgerRow], failures: [ExchangeRecord.Failure] = [], status: Int = 200,
                       traceparent: String? = nil) -> ExchangeRecord {
        ExchangeRecord(api: "chat", route: "fast", requestID: "req_1", method: "POST", path: "/v1/chat/completions",
                       status: status, streamed: false, startedAt: 1_000_000_000, endedAt: 1_100_000_000,
                       startedWallNs: 1_700_000_000_000_000_000, rows: rows, failures: failures, traceparent: traceparent)
    }

    @Test func labelValuesAreEscapedAndNumbersWritten() {
        #expect(PrometheusText.escape(#"a"b\c"# + "\nd") == #"a\"b\\c\nd"#)
        #expect(PrometheusText.number(3) == "3")
        #expect(PrometheusText.number(0.25) == "0.25")
        #expect(PrometheusText.number(.infinity) == "+Inf")
        var out = PrometheusText()
        out.family("tollgate_x_total", "counter", "X.")
        out.sample("tollgate_x_total", [("provider", "a\"b")], UInt64(2))
        #expect(out.text == "# HELP tollgate_x_total X.\n# TYPE tollgate_x_total counter\ntollgate_x_total{provider=\"a\\\"b\"} 2\n")
    }

    @Test func histogramsAreCumulativeAndAddUp() {
        var a = Histogram(bounds: [0.1, 1])
        a.observe(0.05)
        a.observe(0.1)
        a.observe(5)
        var b = Histogram(bounds: [0.1, 1])
        b.observe(0.5)
        a.add(b)
        #expect(a.cumulative == [2, 3, 4])
        #expect(a.count == 4)
        #expect(abs(a.sum - 5.65) < 1e-9)
    }

    @Test func anExchangeCountsRetriesFailoversFailuresAndTokens() {
        let metrics = LoopMetrics()
        let rows = [Self.row("a", .failedOver, status: 502, ttfb: nil), Self.row("a", .failedOver, status: 500),
                    Self.row("b", .ok)]
        metrics.record(Self.record(rows, failures: [.init(index: 0, kind: .connection), .init(index: 1, kind: .serverError)]))
        let v = metrics.values
        #expect(v.requests[.init(api: "chat", provider: "b", model: "m", status: 200)] == 1)
        #expect(v.retries == ["a": 1])
        #expect(v.failovers == ["a": 1])
        #expect(v.failures[.init(provider: "a", value: "connection")] == 1)
        #expect(v.failures[.init(provider: "a", value: "server_error")] == 1)
        #expect(v.attempts[.init(provider: "a", value: "failed_over")] == 2)
        let spend = v.spend[.init(provider: "b", model: "m")]
        #expect(spend?.input == 10 && spend?.cached == 2 && spend?.output == 4 && spend?.reasoning == 1)
        #expect(v.upstreamFirstByte["a"]?.count == 1)
        // 100 ms in all, 60 ms upstream: 40 ms of tollgate's own.
        #expect(abs((v.overhead["chat"]?.sum ?? 0) - 0.04) < 1e-9)
    }

    @Test func aStreamCutAfterItStartedCountsAsCutMidStream() {
        let metrics = LoopMetrics()
        metrics.record(Self.record([Self.row("a", .upstreamError, status: 502)], status: 200))
        #expect(metrics.values.failures[.init(provider: "a", value: "cut_mid_stream")] == 1)
    }

    @Test func modelLabelsStayBounded() {
        let metrics = LoopMetrics()
        for i in 0..<(LoopMetrics.maxSeries + 50) {
            var r = Self.row("a", .ok)
            r.model = "model-\(i)"
            metrics.record(Self.record([r]))
        }
        #expect(metrics.values.requests.count == LoopMetrics.maxSeries + 1)
        #expect(metrics.values.requests[.init(api: "chat", provider: "a", model: "other", status: 200)] == 50)
        #expect(metrics.values.spend.count == LoopMetrics.maxSeries + 1)
    }

    @Test func traceparentIsReadOnlyWhenValid() {
        let valid = TraceContext(traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        #expect(valid?.traceID == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(valid?.spanID == "00f067aa0ba902b7")
        for bad in ["", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                    "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01"] {
            #expect(TraceContext(traceparent: bad) == nil, "\(bad)")
        }
    }

    @Test func spansCarryGenAIAttributesAndTheParent() throws {
        let record = Self.record([Self.row("a", .failedOver, status: 429), Self.row("b", .ok)],
                                 failures: [.init(index: 0, kind: .rateLimited)],
                                 traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
        let json = try JSONValue.parse(OTLPTraceJSON.encode([record], serviceName: "svc"))
        let spans = json["resourceSpans"]?[0]?["scopeSpans"]?[0]?["spans"]?.arrayValue ?? []
        #expect(spans.count == 3)
        let server = try #require(spans.first)
        #expect(server["traceId"]?.stringValue == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(server["parentSpanId"]?.stringValue == "00f067aa0ba902b7")
        #expect(server["kind"]?.intValue == 2)
        func attribute(_ span: JSONValue, _ key: String) -> JSONValue? {
            span["attributes"]?.arrayValue?.first { $0["key"]?.stringValue == key }?["value"]
        }
        #expect(attribute(server, "gen_ai.request.model")?["stringValue"]?.stringValue == "fast")
        #expect(attribute(server, "gen_ai.usage.input_tokens")?["intValue"]?.stringValue == "10")
        #expect(attribute(server, "tollgate.attempts")?["intValue"]?.stringValue == "2")
        for child in spans.dropFirst() {
            #expect(child["parentSpanId"] == server["spanId"])
            #expect(child["kind"]?.intValue == 3)
        }
        #expect(attribute(spans[1], "error.type")?["stringValue"]?.stringValue == "rate_limited")
        #expect(spans[1]["status"]?["code"]?.intValue == 2)
        #expect(attribute(spans[2], "error.type") == nil)
    }

    @Test func apiLabelsAreABoundedSet() {
        #expect(APILabel.name(path: "/v1/chat/completions") == "chat")
        #expect(APILabel.name(path: "/v1/embeddings") == "embeddings")
        #expect(APILabel.name(path: "/v1/messages") == "messages")
        #expect(APILabel.name(path: "/v1/responses") == "responses")
        #expect(APILabel.name(path: "/admin/spend/daily") == "admin")
        #expect(APILabel.name(path: "/anything/\(Int.random(in: 0..<1000))") == "other")
    }

    @Test func otelSettingsParse() throws {
        let config = try Config.parse(Array(#"{"otel": {"endpoint": "http://127.0.0.1:4318", "service_name": "gw"}}"#.utf8))
        #expect(config.otel?.tracesURL == "http://127.0.0.1:4318/v1/traces")
        #expect(config.otel?.serviceName == "gw")
        #expect(config.unknownKeys.isEmpty)
        #expect(OTelSettings(endpoint: "http://c:4318/v1/traces").tracesURL == "http://c:4318/v1/traces")
        #expect(throws: ConfigError.self) { try Config.parse(Array(#"{"otel": {"endpoint": "127.0.0.1:4318"}}"#.utf8)) }
        #expect(throws: ConfigError.self) { try Config.parse(Array(#"{"otel": {}}"#.utf8)) }
    }

    @Test func theDashboardPageLoadsWithoutTheKeyButItsDataNeedsIt() throws {
        let gate = try InProcessGateway(config: #"{"listen": "127.0.0.1:4100", "admin_key": "k-0042", "providers": {"a": {"type": "openai_compatible", "base_url": "http://127.0.0.1:9/v1", "api_key": "k", "models": ["m"]}}}"#)
        let page = gate.send("GET", "/dashboard", peer: "192.168.1.5")
        #expect(page.wait())
        #expect(page.status == 200)
        #expect(page.text.contains("<title>tollgate</title>"))
        // Nothing fetched from elsewhere: the only absolute URL is the SVG namespace.
        let urls = page.text.replacing("http://www.w3.org/2000/svg", with: "")
        #expect(!urls.contains("http://") && !urls.contains("https://") && !urls.contains("//fonts"))
        for path in ["/admin/requests", "/admin/spend/daily", "/admin/budgets"] {
            let refused = gate.send("GET", path, peer: "192.168.1.5")
            #expect(refused.wait())
            #expect(refused.status == 401, "\(path)")
            let allowed = gate.send("GET", path, headers: [("Authorization", "Bearer k-0042")], peer: "192.168.1.5")
            #expect(allowed.wait())
            #expect(allowed.status == 200, "\(path)")
        }
        let daily = gate.send("GET", "/admin/spend/daily?days=7", headers: [("Authorization", "Bearer k-0042")])
        #expect(daily.wait())
        #expect(daily.json?["days"]?.arrayValue?.count == 7)
    }

    @Test func theDashboardIsLoopbackOnlyWithoutAKey() throws {
        let gate = try InProcessGateway(config: #"{"listen": "127.0.0.1:4100", "providers": {}}"#)
        let remote = gate.send("GET", "/dashboard", peer: "192.168.1.5")
        #expect(remote.wait())
        #expect(remote.status == 403)
        let local = gate.send("GET", "/dashboard")
        #expect(local.wait())
        #expect(local.status == 200)
    }
}
