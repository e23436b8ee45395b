import Foundation
import Testing
import TollgateCore
import TollgateTestSupport

/// Upstreams that fail in each way, and a healthy one.
enum Upstreams {
    static func healthy(_ text: String = "ok") throws -> FakeUpstream {
        try FakeUpstream { request, conn in
            if request.json?["stream"] as? Bool == true {
                try conn.startStream()
                try conn.chunk(Canned.chunk(text) + Canned.finish + Canned.done)
                try conn.endChunks()
            } else {
                try conn.respond(status: 200, body: Canned.completion(model: "m", text: text))
            }
        }
    }
    static func status(_ code: Int, headers: [(String, String)] = [], message: String = "nope") throws -> FakeUpstream {
        try FakeUpstream { _, conn in
            try conn.respond(status: code, headers: headers, body: #"{"error":{"message":"\#(message)","type":"x"}}"#)
        }
    }
    static func hanging() throws -> FakeUpstream {
        try FakeUpstream { _, _ in usleep(6_000_000) }
    }
    static func garbage() throws -> FakeUpstream {
        try FakeUpstream { _, conn in
            try conn.write("this is not HTTP at all\r\n\r\n")
            conn.close()
        }
    }
    static func refused() throws -> String {
        let u = try FakeUpstream { _, _ in }
        let url = u.baseURL
        u.stop()
        return url
    }
}

@Suite struct FailoverTests {
    func pair(_ first: String, _ second: String, retries: Int = 0, failover: String = "{}") throws -> GatewayHarness {
        try GatewayHarness(config: GatewayHarness.config([("a", first, ["m"]), ("b", second, ["m"])], retries: retries,
                                                         failover: failover))
    }

    @Test(arguments: ["refused", "hang", "429", "500", "502", "503", "504", "529", "401", "403", "404", "408", "garbage"])
    func failsOverBeforeTheFirstByte(kind: String) throws {
        var keep: FakeUpstream?
        let firstURL: String
        switch kind {
        case "refused": firstURL = try Upstreams.refused()
        case "hang": keep = try Upstreams.hanging(); firstURL = keep!.baseURL
        case "garbage": keep = try Upstreams.garbage(); firstURL = keep!.baseURL
        default: keep = try Upstreams.status(Int(kind)!); firstURL = keep!.baseURL
        }
        let good = try Upstreams.healthy("from b")
        let gate = try pair(firstURL, good.baseURL, failover: #"{"first_byte_timeout_seconds": 1.5}"#)
        for stream in [false, true] {
            let response = try gate.chat(chatBody(model: "m", stream: stream))
            #expect(response.status == 200, "\(kind) stream=\(stream): \(response.text) b saw \(good.connectionsAccepted) connections, \(good.requests.count) requests")
            #expect(response.header("x-tollgate-provider") == "b")
            #expect(response.text.contains("from b"))
        }
        _ = keep
    }

    @Test(arguments: [400, 413, 422])
    func requestErrorsGoStraightBack(status: Int) throws {
        let bad = try Upstreams.status(status, message: "your request is wrong")
        let good = try Upstreams.healthy()
        let gate = try pair(bad.baseURL, good.baseURL, retries: 2)
        let response = try gate.chat(chatBody(model: "m"))
        #expect(response.status == status)
        #expect(response.errorMessage == "your request is wrong")
        #expect(good.requests.isEmpty)
        #expect(bad.requests.count == 1)
    }

    @Test func retriesTheSameProviderWithBackoffFirst() throws {
        let flaky = try FakeUpstream { request, conn in
            // Fails once, then answers.
            if request.json?["messages"] != nil, flakyCount.increment() == 1 {
                try conn.respond(status: 503, body: #"{"error":{"message":"busy"}}"#)
            } else {
                try conn.respond(status: 200, body: Canned.completion(model: "m", text: "second try"))
            }
        }
        let good = try Upstreams.healthy("from b")
        let gate = try pair(flaky.baseURL, good.baseURL, retries: 1, failover: #"{"retry_base_delay_seconds": 0.01}"#)
        let response = try gate.chat(chatBody(model: "m"))
        #expect(response.status == 200)
        #expect(response.header("x-tollgate-provider") == "a")
        #expect(response.header("x-tollgate-attempts") == "2")
        #expect(response.text.contains("second try"))
        #expect(good.requests.isEmpty)
        let rows = try gate.ledgerRows(atLeast: 2)
        #expect(rows.map(\.outcome.rawValue) == ["failed_over", "ok"])
        #expect(rows.map(\.provider) == ["a", "a"])
    }

    @Test func retryAfterBeyondTheCapMovesOnAndCoolsTheProviderDown() throws {
        let limited = try Upstreams.status(429, headers: [("retry-after", "60")], message: "slow down")
        let good = try Upstreams.healthy("from b")
        let gate = try pair(limited.baseURL, good.baseURL, retries: 3)
        #expect(try gate.chat(chatBody(model: "m")).header("x-tollgate-provider") == "b")
        #expect(limited.requests.count == 1)
        // Cooling down for 60 s: the next requests do not touch it.
        for _ in 0..<3 { #expect(try gate.chat(chatBody(model: "m")).header("x-tollgate-attempts") == "1") }
        #expect(limited.requests.count == 1)
        let admin = try adminProviders(gate)
        #expect(admin["a"]?["state"] as? String == "cooling_down")
        #expect((admin["a"]?["last_error"] as? [String: Any])?["status"] as? Int == 429)
        #expect(admin["b"]?["state"] as? String == "healthy")
    }

    @Test(arguments: [(429, "2"), (503, "2"), (429, "")])
    func aRateLimitFailsOverAtOnceAndCoolsTheProviderDown(status: Int, retryAfter: String) throws {
        let limited = try Upstreams.status(status, headers: retryAfter.isEmpty ? [] : [("retry-after", retryAfter)],
                                           message: "slow down")
        let good = try Upstreams.healthy("from b")
        // A retry-after well inside max_retry_wait_seconds: still no waiting while b is idle.
        let gate = try pair(limited.baseURL, good.baseURL, retries: 3,
                            failover: #"{"max_retry_wait_seconds": 30, "retry_base_delay_seconds": 5}"#)
        let started = Date()
        let response = try gate.chat(chatBody(model: "m"))
        #expect(response.status == 200)
        #expect(response.header("x-tollgate-provider") == "b")
        #expect(response.header("x-tollgate-attempts") == "2")
        #expect(limited.requests.count == 1)
        #expect(Date().timeIntervalSince(started) < 1.5, "waited on the limited provider")
        let rows = try gate.ledgerRows(atLeast: 2)
        #expect(rows.map(\.outcome.rawValue) == ["failed_over", "ok"])
        if !retryAfter.isEmpty {
            #expect(try adminProviders(gate)["a"]?["state"] as? String == "cooling_down")
        }
    }

    @Test func aRateLimitedLastProviderIsWaitedForWithinTheCap() throws {
        let count = Counter()
        let limited = try FakeUpstream { request, conn in
            if request.json?["messages"] != nil, count.increment() == 1 {
                try conn.respond(status: 429, headers: [("retry-after-ms", "300")], body: #"{"error":{"message":"wait"}}"#)
            } else {
                try conn.respond(status: 200, body: Canned.completion(model: "m", text: "after the wait"))
            }
        }
        let gate = try GatewayHarness(config: GatewayHarness.config([("a", limited.baseURL, ["m"])], retries: 1))
        let response = try gate.chat(chatBody(model: "m"))
        #expect(response.status == 200)
        #expect(response.text.contains("after the wait"))
        #expect(response.header("x-tollgate-attempts") == "2")
    }

    @Test func allRateLimitedGives429ListingEachAttempt() throws {
        let a = try Upstreams.status(429, message: "a is limited")
        let b = try Upstreams.status(429, message: "b is limited")
        let gate = try pair(a.baseURL, b.baseURL)
        let response = try gate.chat(chatBody(model: "m"))
        #expect(response.status == 429)
        #expect(response.errorMessage?.contains("a/m: 429 a is limited") == true)
        #expect(response.errorMessage?.contains("b/m: 429 b is limited") == true)
    }

    @Test func mixedFailuresGive502() throws {
        let a = try Upstreams.status(500, message: "a broke")
        let b = try Upstreams.status(429, message: "b limited")
        let gate = try pair(a.baseURL, b.baseURL)
        let response = try gate.chat(chatBody(model: "m"))
        #expect(response.status == 502)
        #expect(response.json.map { ($0["error"] as? [String: Any])?["code"] as? String } == "all_providers_failed")
    }

    @Test func noFailoverOnceTheStreamHasStarted() throws {
        let dying = try FakeUpstream { _, conn in
            try conn.startStream()
            try conn.chunk(Canned.chunk("half"))
            conn.close()
        }
        let good = try Upstreams.healthy()
        let gate = try pair(dying.baseURL, good.baseURL)
        let response = try gate.chat(chatBody(model: "m", stream: true))
        let events = sseData(response.body)
        #expect(events.first?.contains("half") == true)
        #expect(events.last?.contains("\"error\"") == true)
        #expect(!events.contains("[DONE]"))
        #expect(good.requests.isEmpty)
    }

    @Test func breakerOpensAfterConsecutiveFailuresThenOneProbeRestoresIt() throws {
        let broken = Flag()
        let a = try FakeUpstream { request, conn in
            if broken.value {
                try conn.respond(status: 500, body: #"{"error":{"message":"down"}}"#)
            } else {
                usleep(200_000)  // the probe takes a moment, so concurrent requests see it in flight
                try conn.respond(status: 200, body: Canned.completion(model: "m", text: "a is back"))
            }
        }
        let b = try Upstreams.healthy("from b")
        let gate = try pair(a.baseURL, b.baseURL, failover: #"{"failure_threshold": 3, "cooldown_seconds": 0.5}"#)
        broken.value = true
        for _ in 0..<3 { #expect(try gate.chat(chatBody(model: "m")).header("x-tollgate-provider") == "b") }
        #expect(a.requests.count == 3)
        // Open: concurrent requests during the cooldown never reach a.
        let during = Counts()
        try concurrently(8) { during.add(try gate.chat(chatBody(model: "m")).header("x-tollgate-provider") ?? "?") }
        #expect(during.count("b") == 8)
        #expect(a.requests.count == 3)
        #expect(try adminProviders(gate)["a"]?["state"] as? String == "cooling_down")
        // After the cooldown: a single probe goes to a while the others still go to b.
        usleep(600_000)
        broken.value = false
        let served = Counts()
        try concurrently(6) { served.add(try gate.chat(chatBody(model: "m")).header("x-tollgate-provider") ?? "?") }
        #expect(served.count("a") == 1)
        #expect(served.count("b") == 5)
        #expect(a.requests.count == 4)
        // The probe succeeded: a is healthy and first again.
        #expect(try gate.chat(chatBody(model: "m")).header("x-tollgate-provider") == "a")
        #expect(try adminProviders(gate)["a"]?["state"] as? String == "healthy")
    }

    @Test func aSingleProviderRouteCoolsDownToo() throws {
        let a = try Upstreams.status(503, message: "down")
        let gate = try GatewayHarness(config: GatewayHarness.config([("a", a.baseURL, ["m"])],
                                                                    failover: #"{"failure_threshold": 2, "cooldown_seconds": 30}"#))
        #expect(try gate.chat(chatBody(model: "m")).status == 503)
        #expect(try gate.chat(chatBody(model: "m")).status == 503)
        let cooled = try gate.chat(chatBody(model: "m"))
        #expect(cooled.status == 503)
        #expect(cooled.errorMessage?.contains("cooling down") == true)
        #expect(cooled.header("Retry-After") != nil)
        #expect(a.requests.count == 2)
    }

    @Test func contextLengthErrorOnlyMovesToALargerWindow() throws {
        let small = try Upstreams.status(400, message: "This model's maximum context length is 8192 tokens")
        let same = try Upstreams.healthy("same size")
        let large = try Upstreams.healthy("large")
        let models = #"{"small/m": {"context_window": 8192}, "same/m": {"context_window": 8192}, "large/m": {"context_window": 200000}}"#
        var config = GatewayHarness.config([("small", small.baseURL, ["m"]), ("same", same.baseURL, ["m"]),
                                            ("large", large.baseURL, ["m"])])
        config = String(config.dropLast()) + #", "models": \#(models)}"#
        let gate = try GatewayHarness(config: config)
        let response = try gate.chat(chatBody(model: "m"))
        #expect(response.status == 200)
        #expect(response.header("x-tollgate-provider") == "large")
        #expect(same.requests.isEmpty)
    }

    @Test func providerFallbacksAndPinning() throws {
        let a = try Upstreams.status(500)
        let b = try Upstreams.healthy("from b")
        var config = GatewayHarness.config([("a", a.baseURL, ["m"]), ("b", b.baseURL, ["m2"])])
        config = config.replacingOccurrences(of: #""priority": 1"#, with: #""priority": 1, "fallbacks": ["b/m2"]"#)
        let gate = try GatewayHarness(config: config)
        let viaFallback = try gate.chat(chatBody(model: "a/m"))
        #expect(viaFallback.header("x-tollgate-provider") == "b")
        #expect(viaFallback.header("x-tollgate-model") == "m2")
        let pinned = try gate.chat(chatBody(model: "m2"), headers: "x-tollgate-provider: a\r\n")
        #expect(pinned.header("x-tollgate-provider") == "a")
        #expect(pinned.status == 500)
        let unknown = try gate.chat(chatBody(model: "m"), headers: "x-tollgate-provider: zzz\r\n")
        #expect(unknown.status == 400)
    }

    @Test func capabilitiesSkipCandidatesAndNameWhatIsMissing() throws {
        let a = try Upstreams.healthy("from a")
        let b = try Upstreams.healthy("from b")
        let models = #"{"a/m": {"capabilities": ["chat", "streaming"]}, "b/m": {"capabilities": ["chat", "tools"]}}"#
        var config = GatewayHarness.config([("a", a.baseURL, ["m"]), ("b", b.baseURL, ["m"])])
        config = String(config.dropLast()) + #", "models": \#(models)}"#
        let gate = try GatewayHarness(config: config)
        let tools = #", "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]"#
        #expect(try gate.chat(chatBody(model: "m", extra: tools)).header("x-tollgate-provider") == "b")
        #expect(try gate.chat(chatBody(model: "m")).header("x-tollgate-provider") == "a")
        let image = #"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}"#
        let refused = try gate.chat(image)
        #expect(refused.status == 400)
        #expect(refused.errorMessage?.contains("vision") == true)
    }

    // MARK: helpers

    func adminProviders(_ gate: GatewayHarness) throws -> [String: [String: Any]] {
        let client = try gate.client()
        try client.send("GET /admin/providers HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let list = try client.readResponse().json?["data"] as? [[String: Any]] ?? []
        return Dictionary(uniqueKeysWithValues: list.compactMap { item in (item["name"] as? String).map { ($0, item) } })
    }
}

let flakyCount = Counter()

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func increment() -> Int { lock.withLock { n += 1; return n } }
}

final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var v = false
    var value: Bool {
        get { lock.withLock { v } }
        set { lock.withLock { v = newValue } }
    }
}

final class Counts: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String] = []
    func add(_ s: String) { lock.withLock { values.append(s) } }
    func count(_ s: String) -> Int { lock.withLock { values.filter { $0 == s }.count } }
    var total: Int { lock.withLock { values.count } }
}

/// Runs `body` on `n` threads at once and waits for all.
func concurrently(_ n: Int, _ body: @escaping @Sendable () throws -> Void) throws {
    let group = DispatchGroup()
    let errors = Counts()
    for _ in 0..<n {
        group.enter()
        Thread {
            do { try body() } catch { errors.add("\(error)") }
            group.leave()
        }.start()
    }
    group.wait()
    if errors.total > 0 { throw TestError("a concurrent call failed") }
}
