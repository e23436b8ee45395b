import TollgateCore
import TollgateLedger

/// One event loop's counters and histograms: plain values, touched only on the loop's queue
/// (no lock, no atomic); a scrape copies them on each loop and adds them up. Kept in few
/// dictionaries so that counting an exchange takes few lookups: one for the request, one for
/// its latencies, and per attempt one for its provider and one for its model's spend. Lives on
/// its loop's queue (kept by the loop's `LoopServices`).
final class LoopMetrics {
    /// Requests by inbound API, final provider and model, and the status the client saw.
    struct RequestKey: Hashable, Sendable {
        var api: String
        var provider: String
        var model: String
        var status: Int
    }

    struct APIProvider: Hashable, Sendable {
        var api: String
        var provider: String
    }

    struct ProviderModel: Hashable, Sendable {
        var provider: String
        var model: String
    }

    /// A provider and one more label value (an outcome, a failure kind), as scrapes list them.
    struct ProviderLabel: Hashable, Sendable {
        var provider: String
        var value: String
    }

    /// The latencies of requests of one API answered (last) by one provider.
    struct Latency: Sendable {
        var duration = Histogram(bounds: Histogram.latency)
        var firstByte = Histogram(bounds: Histogram.latency)
        /// Only for requests that reached an upstream.
        var overhead = Histogram(bounds: Histogram.short)

        mutating func observe(total: Double, firstByte first: Double, overhead own: Double?) {
            duration.observe(total)
            firstByte.observe(first)
            if let own { overhead.observe(own) }
        }

        mutating func add(_ o: Latency) {
            duration.add(o.duration)
            firstByte.add(o.firstByte)
            overhead.add(o.overhead)
        }
    }

    /// What one provider's attempts did.
    struct ProviderStats: Sendable {
        /// By `outcomes` index.
        var attempts = Array(repeating: UInt64(0), count: outcomes.count)
        /// By `kinds` index.
        var failures = Array(repeating: UInt64(0), count: kinds.count)
        /// Further tries on this provider after a failure.
        var retries: UInt64 = 0
        /// Moves away from this provider to another.
        var failovers: UInt64 = 0
        var firstByte = Histogram(bounds: Histogram.latency)

        // Stored once: a synthesized `allCases` builds its array on every use.
        static let outcomes = LedgerOutcome.allCases
        static let kinds = UpstreamFailure.Kind.allCases

        mutating func add(_ o: ProviderStats) {
            for i in attempts.indices { attempts[i] += o.attempts[i] }
            for i in failures.indices { failures[i] += o.failures[i] }
            retries += o.retries
            failovers += o.failovers
            firstByte.add(o.firstByte)
        }
    }

    struct Spend: Sendable {
        var input: UInt64 = 0
        var cached: UInt64 = 0
        var output: UInt64 = 0
        var reasoning: UInt64 = 0
        var costUSD = 0.0
        var estimatedAttempts: UInt64 = 0

        mutating func add(_ o: Spend) {
            input += o.input
            cached += o.cached
            output += o.output
            reasoning += o.reasoning
            costUSD += o.costUSD
            estimatedAttempts += o.estimatedAttempts
        }
    }

    /// Everything counted, as one value: a scrape takes a copy from each loop and merges them.
    struct Values: Sendable {
        var requests: [RequestKey: UInt64] = [:]
        var latency: [APIProvider: Latency] = [:]
        var providers: [String: ProviderStats] = [:]
        var spend: [ProviderModel: Spend] = [:]
        var ledgerCommit = Histogram(bounds: Histogram.short)
        var ledgerRows: UInt64 = 0
        var ledgerErrors: UInt64 = 0

        mutating func add(_ o: Values) {
            requests.merge(o.requests, uniquingKeysWith: +)
            for (k, v) in o.latency { latency[k, default: Latency()].add(v) }
            for (k, v) in o.providers { providers[k, default: ProviderStats()].add(v) }
            for (k, v) in o.spend { spend[k, default: Spend()].add(v) }
            ledgerCommit.add(o.ledgerCommit)
            ledgerRows += o.ledgerRows
            ledgerErrors += o.ledgerErrors
        }

        // Views by series, as the exposition lists them (built at scrape time).
        var duration: [APIProvider: Histogram] { latency.mapValues(\.duration) }
        var firstByte: [APIProvider: Histogram] { latency.mapValues(\.firstByte) }
        var overhead: [String: Histogram] {
            var byAPI: [String: Histogram] = [:]
            for (k, l) in latency where l.overhead.count > 0 { byAPI[k.api, default: Histogram(bounds: Histogram.short)].add(l.overhead) }
            return byAPI
        }
        var upstreamFirstByte: [String: Histogram] { providers.filter { $0.value.firstByte.count > 0 }.mapValues(\.firstByte) }
        var attempts: [ProviderLabel: UInt64] { Self.labelled(providers, \.attempts, ProviderStats.outcomes.map(\.rawValue)) }
        var failures: [ProviderLabel: UInt64] { Self.labelled(providers, \.failures, ProviderStats.kinds.map(\.rawValue)) }
        var retries: [String: UInt64] { providers.filter { $0.value.retries > 0 }.mapValues(\.retries) }
        var failovers: [String: UInt64] { providers.filter { $0.value.failovers > 0 }.mapValues(\.failovers) }

        private static func labelled(_ providers: [String: ProviderStats], _ counts: KeyPath<ProviderStats, [UInt64]>,
                                     _ names: [String]) -> [ProviderLabel: UInt64] {
            var out: [ProviderLabel: UInt64] = [:]
            for (provider, stats) in providers {
                for (i, n) in stats[keyPath: counts].enumerated() where n > 0 {
                    out[ProviderLabel(provider: provider, value: names[i])] = n
                }
            }
            return out
        }
    }

    private(set) var values = Values()
    /// Finished exchanges waiting to be handed to the trace exporter (only when tracing is on).
    var pendingTraces: [ExchangeRecord] = []
    var traceFlushScheduled = false

    /// Series of one family beyond this many get the model label `other`: a client may name
    /// any model of a provider (`NAME/model`), and labels must stay a bounded set.
    static let maxSeries = 500

    /// Counts one answered request that went through no upstream (a bad request, an unknown
    /// model, tollgate's own endpoints).
    func recordAnswered(api: String, status: Int, seconds: Double) {
        values.requests[boundedRequestKey(RequestKey(api: api, provider: "none", model: "none", status: status)), default: 0] += 1
        values.latency[APIProvider(api: api, provider: "none"), default: Latency()]
            .observe(total: seconds, firstByte: seconds, overhead: nil)
    }

    /// Counts a routed request and each of its upstream attempts.
    func record(_ r: ExchangeRecord) {
        let last = r.rows.last
        let provider = last?.provider ?? "none"
        let total = r.seconds
        values.requests[boundedRequestKey(RequestKey(api: r.api, provider: provider, model: last?.model ?? "none",
                                                     status: r.status)), default: 0] += 1

        // Time to the first byte the client could get: for a relayed stream, when the last
        // attempt's first upstream byte arrived; a whole answer leaves only at the end.
        var firstByte = total
        var upstream = 0.0
        for row in r.rows { upstream += row.totalMs / 1000 }
        if r.streamed, let last, last.outcome == .ok, let ttfb = last.ttfbMs {
            let lastStart = total - last.totalMs / 1000
            firstByte = min(total, max(0, lastStart) + ttfb / 1000)
        }
        // In place: a copy out of the dictionary would copy the buckets.
        values.latency[APIProvider(api: r.api, provider: provider), default: Latency()]
            .observe(total: total, firstByte: firstByte, overhead: r.rows.isEmpty ? nil : max(0, total - upstream))

        for (i, row) in r.rows.enumerated() {
            let retry = i > 0 && r.rows[i - 1].provider == row.provider
            let movedOn = i + 1 < r.rows.count && r.rows[i + 1].provider != row.provider
            values.providers[row.provider, default: ProviderStats()]
                .count(row, failure: r.failureKind(at: i), retry: retry, movedOn: movedOn)
            var s = Spend()
            s.input = UInt64(max(0, row.usage.promptTokens))
            s.cached = UInt64(max(0, row.usage.cachedTokens))
            s.output = UInt64(max(0, row.usage.completionTokens))
            s.reasoning = UInt64(max(0, row.usage.reasoningTokens))
            s.costUSD = row.costUSD
            s.estimatedAttempts = row.tokensEstimated ? 1 : 0
            values.spend[boundedModel(ProviderModel(provider: row.provider, model: row.model)), default: Spend()].add(s)
        }
    }

    /// One ledger transaction of this loop: its duration, rows and outcome.
    func recordLedgerCommit(seconds: Double, rows: Int, failed: Bool) {
        values.ledgerCommit.observe(seconds)
        values.ledgerRows += UInt64(rows)
        if failed { values.ledgerErrors += 1 }
    }

    /// The key, or the same with model `other` once the family is full and the key is new.
    private func boundedRequestKey(_ key: RequestKey) -> RequestKey {
        guard values.requests.count >= Self.maxSeries, values.requests[key] == nil else { return key }
        var k = key
        k.model = "other"
        return k
    }

    private func boundedModel(_ key: ProviderModel) -> ProviderModel {
        guard values.spend.count >= Self.maxSeries, values.spend[key] == nil else { return key }
        return ProviderModel(provider: key.provider, model: "other")
    }
}

extension LoopMetrics.ProviderStats {
    /// One attempt: its outcome, its failure, its first byte; whether it was a retry on this
    /// provider, and whether the next attempt left this provider.
    mutating func count(_ row: LedgerRow, failure: UpstreamFailure.Kind?, retry: Bool, movedOn: Bool) {
        if let i = Self.outcomes.firstIndex(of: row.outcome) { attempts[i] += 1 }
        if let failure, let i = Self.kinds.firstIndex(of: failure) { failures[i] += 1 }
        if retry { retries += 1 }
        if movedOn { failovers += 1 }
        if let ttfb = row.ttfbMs { firstByte.observe(ttfb / 1000) }
    }
}
