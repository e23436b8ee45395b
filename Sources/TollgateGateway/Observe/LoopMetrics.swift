import TollgateCore
import TollgateLedger

/// One event loop's counters and histograms: plain values, touched only on the loop's queue
/// (no lock, no atomic); a scrape copies them on each loop and adds them up. Lives on its
/// loop's queue (kept by the loop's `LoopServices`).
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

    struct ProviderLabel: Hashable, Sendable {
        var provider: String
        var value: String
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
        var duration: [APIProvider: Histogram] = [:]
        var firstByte: [APIProvider: Histogram] = [:]
        var overhead: [String: Histogram] = [:]
        var upstreamFirstByte: [String: Histogram] = [:]
        var spend: [ProviderModel: Spend] = [:]
        /// Upstream attempts by provider and ledger outcome.
        var attempts: [ProviderLabel: UInt64] = [:]
        /// Upstream failures by provider and failure kind.
        var failures: [ProviderLabel: UInt64] = [:]
        /// A further try on the same provider, by provider.
        var retries: [String: UInt64] = [:]
        /// A move to another provider, by the provider left.
        var failovers: [String: UInt64] = [:]
        var ledgerCommit = Histogram(bounds: Histogram.short)
        var ledgerRows: UInt64 = 0
        var ledgerErrors: UInt64 = 0

        mutating func add(_ o: Values) {
            requests.merge(o.requests, uniquingKeysWith: +)
            Self.merge(&duration, o.duration)
            Self.merge(&firstByte, o.firstByte)
            Self.merge(&overhead, o.overhead)
            Self.merge(&upstreamFirstByte, o.upstreamFirstByte)
            for (k, v) in o.spend { spend[k, default: Spend()].add(v) }
            attempts.merge(o.attempts, uniquingKeysWith: +)
            failures.merge(o.failures, uniquingKeysWith: +)
            retries.merge(o.retries, uniquingKeysWith: +)
            failovers.merge(o.failovers, uniquingKeysWith: +)
            ledgerCommit.add(o.ledgerCommit)
            ledgerRows += o.ledgerRows
            ledgerErrors += o.ledgerErrors
        }

        private static func merge<K: Hashable>(_ a: inout [K: Histogram], _ b: [K: Histogram]) {
            for (k, h) in b {
                if a[k] == nil { a[k] = h } else { a[k]!.add(h) }
            }
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
        let key = boundedRequestKey(RequestKey(api: api, provider: "none", model: "none", status: status))
        values.requests[key, default: 0] += 1
        values.duration[APIProvider(api: api, provider: "none"), default: Histogram(bounds: Histogram.latency)].observe(seconds)
    }

    /// Counts a routed request and each of its upstream attempts.
    func record(_ r: ExchangeRecord) {
        let last = r.rows.last
        let provider = last?.provider ?? "none"
        let total = r.seconds
        values.requests[boundedRequestKey(RequestKey(api: r.api, provider: provider, model: last?.model ?? "none",
                                                     status: r.status)), default: 0] += 1
        let ap = APIProvider(api: r.api, provider: provider)
        values.duration[ap, default: Histogram(bounds: Histogram.latency)].observe(total)

        // Time to the first byte the client could get: for a relayed stream, when the last
        // attempt's first upstream byte arrived; a whole answer leaves only at the end.
        var firstByte = total
        var upstream = 0.0
        for row in r.rows { upstream += row.totalMs / 1000 }
        if r.streamed, let last, last.outcome == .ok, let ttfb = last.ttfbMs {
            let lastStart = total - last.totalMs / 1000
            firstByte = min(total, max(0, lastStart) + ttfb / 1000)
        }
        values.firstByte[ap, default: Histogram(bounds: Histogram.latency)].observe(firstByte)
        if !r.rows.isEmpty {
            values.overhead[r.api, default: Histogram(bounds: Histogram.short)].observe(max(0, total - upstream))
        }

        for (i, row) in r.rows.enumerated() {
            values.attempts[ProviderLabel(provider: row.provider, value: row.outcome.rawValue), default: 0] += 1
            let model = boundedModel(ProviderModel(provider: row.provider, model: row.model))
            var s = Spend()
            s.input = UInt64(max(0, row.usage.promptTokens))
            s.cached = UInt64(max(0, row.usage.cachedTokens))
            s.output = UInt64(max(0, row.usage.completionTokens))
            s.reasoning = UInt64(max(0, row.usage.reasoningTokens))
            s.costUSD = row.costUSD
            s.estimatedAttempts = row.tokensEstimated ? 1 : 0
            values.spend[model, default: Spend()].add(s)
            if let ttfb = row.ttfbMs {
                values.upstreamFirstByte[row.provider, default: Histogram(bounds: Histogram.latency)].observe(ttfb / 1000)
            }
            if let kind = r.failureKind(at: i) {
                values.failures[ProviderLabel(provider: row.provider, value: kind.rawValue), default: 0] += 1
            }
            if i > 0 {
                let previous = r.rows[i - 1].provider
                if previous == row.provider {
                    values.retries[row.provider, default: 0] += 1
                } else {
                    values.failovers[previous, default: 0] += 1
                }
            }
        }
    }

    /// One ledger transaction of this loop: its duration, rows and outcome.
    func recordLedgerCommit(seconds: Double, rows: Int, failed: Bool) {
        values.ledgerCommit.observe(seconds)
        values.ledgerRows += UInt64(rows)
        if failed { values.ledgerErrors += 1 }
    }

    private func boundedRequestKey(_ key: RequestKey) -> RequestKey {
        guard values.requests[key] == nil, values.requests.count >= Self.maxSeries else { return key }
        var k = key
        k.model = "other"
        return k
    }

    private func boundedModel(_ key: ProviderModel) -> ProviderModel {
        guard values.spend[key] == nil, values.spend.count >= Self.maxSeries else { return key }
        return ProviderModel(provider: key.provider, model: "other")
    }
}
