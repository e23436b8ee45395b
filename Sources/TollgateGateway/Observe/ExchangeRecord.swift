import TollgateCore
import TollgateLedger

/// What one routed request leaves behind for metrics and traces: its inbound API, final
/// status, timings and one ledger row per upstream attempt. Built once, at the end.
struct ExchangeRecord: Sendable {
    /// A failed attempt, by its index in `rows`.
    struct Failure: Sendable {
        var index: Int
        var kind: UpstreamFailure.Kind
    }

    var api: String
    /// The model the client asked for (a route, `NAME/model` or a bare id): free text, never a label.
    var route: String
    var requestID: String
    var method: String
    var path: String
    /// The status the client saw (499 when it left first).
    var status: Int
    var streamed: Bool
    /// Monotonic nanoseconds: when the request arrived and when it ended.
    var startedAt: UInt64
    var endedAt: UInt64
    /// Wall-clock nanoseconds of `startedAt` (for spans).
    var startedWallNs: UInt64
    var rows: [LedgerRow]
    var failures: [Failure]
    /// The client's W3C `traceparent`, continued by the request's span.
    var traceparent: String?
    /// The configuration it ran with (for the provider types a trace names).
    var snapshot: GatewaySnapshot?

    /// Spans it becomes: the request's and one per upstream attempt.
    var spanCount: Int { 1 + rows.count }

    var seconds: Double { Double(endedAt &- startedAt) / 1e9 }
    var endedWallNs: UInt64 { startedWallNs &+ (endedAt &- startedAt) }

    /// The kind each attempt failed with (nil: it did not fail). A final attempt booked as an
    /// upstream error without a recorded failure is a stream that broke after it started.
    func failureKind(at index: Int) -> UpstreamFailure.Kind? {
        if let f = failures.first(where: { $0.index == index }) { return f.kind }
        if index == rows.count - 1, rows[index].outcome == .upstreamError { return .cutMidStream }
        return nil
    }
}
