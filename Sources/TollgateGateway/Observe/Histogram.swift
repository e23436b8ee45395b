/// A Prometheus histogram's state: a count per upper bound (not cumulative; summed when
/// rendered), the sum and the count. A value type: a loop keeps its own, scrapes add them up.
struct Histogram: Sendable {
    /// Upper bounds in seconds, ascending; `+Inf` is implicit.
    let bounds: [Double]
    private(set) var buckets: [UInt64]
    private(set) var sum = 0.0
    private(set) var count: UInt64 = 0

    init(bounds: [Double]) {
        self.bounds = bounds
        buckets = Array(repeating: 0, count: bounds.count + 1)
    }

    mutating func observe(_ value: Double) {
        let v = value.isFinite ? max(0, value) : 0
        var i = 0
        while i < bounds.count, v > bounds[i] { i += 1 }
        buckets[i] += 1
        sum += v
        count += 1
    }

    mutating func add(_ other: Histogram) {
        guard other.bounds == bounds else { return }
        for i in buckets.indices { buckets[i] += other.buckets[i] }
        sum += other.sum
        count += other.count
    }

    /// Cumulative counts per bound, `+Inf` last (the exposition format's `le` buckets).
    var cumulative: [UInt64] {
        var running: UInt64 = 0
        return buckets.map { running += $0; return running }
    }

    /// Request latencies: 5 ms to 5 min.
    static let latency: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]
    /// tollgate's own time and ledger commits: 50 µs to 1 s.
    static let short: [Double] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]
}
