import Synchronization
import Testing
import TollgateCore
@testable import TollgateGateway

/// Every rule of the README's "Routing and failover" section that the failover engine owns,
/// one table row each, with no sockets: candidates, what their breakers and budgets answer,
/// how each attempt fails, and the decisions expected.
@Suite struct FailoverEngineTests {
    struct Row: Sendable, CustomTestStringConvertible {
        let rule: String
        /// Provider names in plan order ("a", "b", …); `windows` gives context windows by name.
        var providers: [String] = ["a", "b"]
        var windows: [String: Int] = [:]
        var retries = 1
        /// Gate replies by provider, in turn (open when none is left).
        var gates: [String: [FailoverEngine.Gate]] = [:]
        /// How each attempt ends, in turn; attempts beyond the list succeed.
        var failures: [UpstreamFailure]
        var maxRetryWait = 10.0
        /// Expected steps: a provider name for an attempt, "wait N" for a retry, "fail STATUS CODE" at the end,
        /// "ok" when an attempt succeeded.
        let expected: [String]
        var testDescription: String { rule }
    }

    static func http(_ status: Int, _ message: String = "nope", retryAfter: Double? = nil,
                     code: String? = nil) -> UpstreamFailure {
        var error = GatewayError(status: status, type: GatewayError.openAIType(forStatus: status), code: code,
                                 message: message)
        error.retryAfter = retryAfter
        return .http(status: status, error: error)
    }

    static let rows: [Row] = [
        // Before the first byte, a failure of the provider moves on: first `retries` more tries on
        // the same provider (408/5xx, connection, timeout: with backoff), then the next candidate.
        Row(rule: "500 retries the same provider with backoff, then moves on",
            failures: [http(500), http(500)], expected: ["a", "wait 0.25", "a", "b", "ok"]),
        Row(rule: "502 retries then moves on", failures: [http(502), http(502)], expected: ["a", "wait 0.25", "a", "b", "ok"]),
        Row(rule: "504 is a timeout: retried, then the next", failures: [http(504), http(504)],
            expected: ["a", "wait 0.25", "a", "b", "ok"]),
        Row(rule: "408 is retried, then the next", failures: [http(408), http(408)], expected: ["a", "wait 0.25", "a", "b", "ok"]),
        Row(rule: "503 without retry-after is retried, then the next", failures: [http(503), http(503)],
            expected: ["a", "wait 0.25", "a", "b", "ok"]),
        Row(rule: "529 without retry-after is retried, then the next", failures: [http(529), http(529)],
            expected: ["a", "wait 0.25", "a", "b", "ok"]),
        Row(rule: "a connection error is retried, then the next",
            failures: [.connection("refused"), .connection("refused")], expected: ["a", "wait 0.25", "a", "b", "ok"]),
        Row(rule: "a first-byte timeout is retried, then the next",
            failures: [.timedOut("slow"), .timedOut("slow")], expected: ["a", "wait 0.25", "a", "b", "ok"]),
        Row(rule: "an unreadable answer is retried, then the next",
            failures: [.badResponse("garbage"), .badResponse("garbage")], expected: ["a", "wait 0.25", "a", "b", "ok"]),
        Row(rule: "backoff doubles between retries on one provider", retries: 2,
            failures: [http(500), http(500), http(500)], expected: ["a", "wait 0.25", "a", "wait 0.5", "a", "b", "ok"]),
        Row(rule: "retries 0 moves on at once", retries: 0, failures: [http(500)], expected: ["a", "b", "ok"]),
        Row(rule: "a success on the retry ends the walk", failures: [http(503)], expected: ["a", "wait 0.25", "a", "ok"]),
        // 401, 403 and 404 say nothing a retry would change: the next candidate at once.
        Row(rule: "401 moves to the next candidate at once", failures: [http(401)], expected: ["a", "b", "ok"]),
        Row(rule: "403 moves to the next candidate at once", failures: [http(403)], expected: ["a", "b", "ok"]),
        Row(rule: "404 moves to the next candidate at once", failures: [http(404)], expected: ["a", "b", "ok"]),
        // A 429 is a signal to go elsewhere: another candidate at once, the limited provider cools down.
        Row(rule: "429 with retry-after fails over at once when another candidate exists",
            failures: [http(429, retryAfter: 2)], expected: ["a", "b", "ok"]),
        Row(rule: "429 without retry-after fails over at once", failures: [http(429)], expected: ["a", "b", "ok"]),
        Row(rule: "429 on the last of several candidates is retried after its backoff",
            failures: [http(429), http(429)], expected: ["a", "b", "wait 0.25", "b", "ok"]),
        Row(rule: "503 with retry-after fails over at once", failures: [http(503, retryAfter: 1)], expected: ["a", "b", "ok"]),
        Row(rule: "429 on the last candidate waits its retry-after and retries it", providers: ["a"],
            failures: [http(429, retryAfter: 2)], expected: ["a", "wait 2.0", "a", "ok"]),
        Row(rule: "429 on the last candidate with a retry-after beyond max_retry_wait_seconds gives up",
            providers: ["a"], failures: [http(429, "slow down", retryAfter: 60)], expected: ["a", "fail 429 -"]),
        Row(rule: "a retry-after within the cap is honoured for a retry (5xx)", failures: [http(500, retryAfter: 3)],
            expected: ["a", "wait 3.0", "a", "ok"]),
        Row(rule: "a retry-after beyond the cap moves on", failures: [http(500, retryAfter: 30)], expected: ["a", "b", "ok"]),
        Row(rule: "retry-after-ms style fractions are honoured", providers: ["a"], failures: [http(429, retryAfter: 0.2)],
            expected: ["a", "wait 0.2", "a", "ok"]),
        // Errors about the request itself go straight back.
        Row(rule: "400 goes straight back", retries: 2, failures: [http(400, "your request is wrong")], expected: ["a", "fail 400 -"]),
        Row(rule: "413 goes straight back", failures: [http(413)], expected: ["a", "fail 413 -"]),
        Row(rule: "422 goes straight back", failures: [http(422)], expected: ["a", "fail 422 -"]),
        Row(rule: "after another provider failed, a request error is summarised with its own status",
            retries: 0, failures: [http(500), http(400)], expected: ["a", "b", "fail 400 all_providers_failed"]),
        // Context length: only a candidate with a larger window.
        Row(rule: "a context-length error skips candidates whose window is not larger",
            providers: ["small", "same", "large"], windows: ["small": 8192, "same": 8192, "large": 200_000],
            failures: [http(400, "This model's maximum context length is 8192 tokens")], expected: ["small", "large", "ok"]),
        Row(rule: "a context-length error with no larger window left is returned",
            providers: ["small", "same"], windows: ["small": 8192, "same": 8192],
            failures: [http(400, "prompt is too long", code: "context_length_exceeded")], expected: ["small", "fail 400 context_length_exceeded"]),
        // Breakers and budgets, as the gate reports them.
        Row(rule: "a provider cooling down is skipped", gates: ["a": [.coolingDown(remaining: 20)]], failures: [],
            expected: ["b", "ok"]),
        Row(rule: "a single provider cooling down gives 503 with a retry-after", providers: ["a"],
            gates: ["a": [.coolingDown(remaining: 20)]], failures: [], expected: ["fail 503 providers_cooling_down"]),
        Row(rule: "a provider over budget is skipped", gates: ["a": [.overBudget("daily budget")]], failures: [],
            expected: ["b", "ok"]),
        Row(rule: "every provider over budget gives 429 budget_exceeded",
            gates: ["a": [.overBudget("daily"), ], "b": [.overBudget("monthly")]], failures: [],
            expected: ["fail 429 budget_exceeded"]),
        Row(rule: "a retried provider that starts cooling down meanwhile is left for the next",
            gates: ["a": [.open, .coolingDown(remaining: 30)]], failures: [http(500)], expected: ["a", "wait 0.25", "b", "ok"]),
        // When every candidate fails: one error listing each attempt.
        Row(rule: "all rate-limited gives 429 listing each attempt", retries: 0, failures: [http(429), http(429)],
            expected: ["a", "b", "fail 429 all_providers_failed"]),
        Row(rule: "all overloaded gives 503", retries: 0, failures: [http(503), http(529)],
            expected: ["a", "b", "fail 503 all_providers_failed"]),
        Row(rule: "mixed failures give 502", retries: 0, failures: [http(500), http(429)],
            expected: ["a", "b", "fail 502 all_providers_failed"]),
        Row(rule: "one provider's own error is returned as it sent it, after its retries", providers: ["a"],
            failures: [http(500, "a broke"), http(500, "a broke")], expected: ["a", "wait 0.25", "a", "fail 500 -"]),
        Row(rule: "failures then the rest cooling down are summarised", retries: 0,
            gates: ["b": [.coolingDown(remaining: 5)]], failures: [http(500)], expected: ["a", "fail 502 all_providers_failed"]),
    ]

    @Test(arguments: rows)
    func rule(_ row: Row) throws {
        let steps = Self.run(row)
        #expect(steps == row.expected, "\(row.rule)")
    }

    /// Drives an engine through a row and lists its decisions.
    static func run(_ row: Row) -> [String] {
        let clock = TestClock()
        var engine = FailoverEngine(
            route: "m",
            options: row.providers.map {
                FailoverEngine.Option(provider: $0, model: "m", contextWindow: row.windows[$0], retries: row.retries)
            },
            settings: .init(retryBaseDelaySeconds: 0.25, maxRetryWaitSeconds: row.maxRetryWait),
            jitter: { 1 }, clock: { clock.now })
        var gates = row.gates
        var failures = row.failures[...]
        var steps: [String] = []
        var decision = engine.next { index in
            gates[row.providers[index]]?.isEmpty == false ? gates[row.providers[index]]!.removeFirst() : .open
        }
        for _ in 0..<20 {
            switch decision {
            case .attempt(let index):
                steps.append(row.providers[index])
                guard let failure = failures.popFirst() else {
                    steps.append("ok")
                    return steps
                }
                decision = engine.failed(failure) { index in
                    gates[row.providers[index]]?.isEmpty == false ? gates[row.providers[index]]!.removeFirst() : .open
                }
            case .retry(let wait):
                steps.append("wait \((wait * 1000).rounded() / 1000)")
                clock.advance(wait)
                decision = engine.next { index in
                    gates[row.providers[index]]?.isEmpty == false ? gates[row.providers[index]]!.removeFirst() : .open
                }
            case .fail(let error):
                steps.append("fail \(error.status) \(error.code ?? "-")")
                return steps
            }
        }
        return steps + ["(did not end)"]
    }

    @Test func aRetryIsNotDueBeforeItsTime() {
        let clock = TestClock()
        var engine = FailoverEngine(route: "m", options: [.init(provider: "a", model: "m")],
                                    settings: .init(retryBaseDelaySeconds: 1), jitter: { 1 }, clock: { clock.now })
        #expect(engine.next { _ in .open } == .attempt(0))
        #expect(engine.failed(Self.http(500)) { _ in .open } == .retry(after: 1))
        clock.advance(0.4)
        guard case .retry(let left) = engine.next(gate: { _ in .open }) else {
            Issue.record("a retry was attempted before its wait was over")
            return
        }
        #expect(abs(left - 0.6) < 1e-9)
        clock.advance(0.6)
        #expect(engine.next { _ in .open } == .attempt(0))
    }

    @Test func theSummaryNamesEveryAttemptRefusalAndCooldown() throws {
        var engine = FailoverEngine(route: "fast", options: ["a", "b", "c"].map { .init(provider: $0, model: "m", retries: 0) },
                                    settings: .init(), jitter: { 1 }, clock: { 0 })
        let gate: (Int) -> FailoverEngine.Gate = { $0 == 1 ? .overBudget("daily budget of $1") : $0 == 2 ? .coolingDown(remaining: 9) : .open }
        #expect(engine.next(gate: gate) == .attempt(0))
        guard case .fail(let error) = engine.failed(Self.http(500, "a broke"), gate: gate) else {
            Issue.record("expected the walk to end")
            return
        }
        #expect(error.code == "all_providers_failed")
        #expect(error.message.contains("a/m: 500 a broke"))
        #expect(error.message.contains("b: over budget (daily budget of $1)"))
        #expect(error.message.contains("c: cooling down"))
        #expect(error.message.contains("\"fast\""))
    }
}

/// Balancing candidates of equal priority.
@Suite struct CandidateOrderTests {
    typealias Entry = CandidateOrder.Entry

    @Test func tiersComeFirstAndOrderedModeKeepsThePlan() {
        let entries = [Entry(tier: 2), Entry(tier: 1), Entry(tier: 1), Entry(tier: 3)]
        #expect(CandidateOrder.order(entries, mode: .ordered, random: { 0 }) == [1, 2, 0, 3])
    }

    @Test func weightedSharesTheLoadInProportion() {
        // a weighs 3, b weighs 1: a goes first about three times in four.
        let entries = [Entry(tier: 1, weight: 3), Entry(tier: 1, weight: 1), Entry(tier: 2)]
        var generator = SplitMix(seed: 7)
        var firsts = [0, 0]
        for _ in 0..<4000 {
            let order = CandidateOrder.order(entries, mode: .weighted, random: { generator.unit() })
            #expect(order.count == 3 && order.last == 2 && Set(order) == [0, 1, 2])
            firsts[order[0]] += 1
        }
        let share = Double(firsts[0]) / 4000
        #expect(share > 0.70 && share < 0.80, "a went first \(share) of the time")
    }

    @Test(arguments: [0.0, 0.3, 0.74, 0.76, 0.99])
    func weightedPicksByTheRandomPoint(point: Double) {
        let entries = [Entry(tier: 1, weight: 3), Entry(tier: 1, weight: 1)]
        let order = CandidateOrder.order(entries, mode: .weighted, random: { point })
        #expect(order == (point < 0.75 ? [0, 1] : [1, 0]))
    }

    @Test func leastBusyGoesToTheFewestInFlight() {
        let entries = [Entry(tier: 1, inFlight: 5), Entry(tier: 1, inFlight: 0), Entry(tier: 1, inFlight: 2), Entry(tier: 0, inFlight: 9)]
        #expect(CandidateOrder.order(entries, mode: .leastBusy, random: { 0 }) == [3, 1, 2, 0])
    }

    @Test func leastBusyBreaksTiesByWeight() {
        let entries = [Entry(tier: 1, weight: 1, inFlight: 0), Entry(tier: 1, weight: 1, inFlight: 0)]
        #expect(CandidateOrder.order(entries, mode: .leastBusy, random: { 0.9 }) == [1, 0])
        #expect(CandidateOrder.order(entries, mode: .leastBusy, random: { 0.1 }) == [0, 1])
    }
}

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let seconds = Mutex(1000.0)
    var now: Double { seconds.withLock { $0 } }
    func advance(_ by: Double) { seconds.withLock { $0 += by } }
}

/// A small seeded generator, so a statistical test is repeatable.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
