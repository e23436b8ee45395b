import Dispatch
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import TollgateCore
import TollgateUpstream

/// Sends spans to an OTLP/HTTP collector (JSON encoding) in batches, on queues of its own:
/// loops hand over finished exchanges at most every 200 ms; at most `maxQueued` wait here,
/// and what does not fit, or what a collector refuses or never answers, is dropped and counted.
/// Never blocks a loop, never grows without bound.
final class OTLPExporter: Sendable {
    static let maxQueued = 2048
    static let maxBatch = 256
    static let timeoutSeconds = 5.0

    let settings: OTelSettings
    private let headers: [(String, String)]
    /// Holds the queue and decides; `sender` runs the blocking POSTs one at a time.
    private let queue = DispatchQueue(label: "tollgate.otel")
    private let sender = DispatchQueue(label: "tollgate.otel.send")
    private let state = Mutex(State())
    let exportedSpans = Atomic<Int>(0)
    let droppedSpans = Atomic<Int>(0)
    let failedExports = Atomic<Int>(0)

    private struct State: Sendable {
        var pending: [ExchangeRecord] = []
        var sending = false
        /// After a failure, nothing is sent before this monotonic time (one try per second).
        var retryAfter = 0.0
    }

    init(settings: OTelSettings) {
        self.settings = settings
        var h: [(String, String)] = [("Content-Type", "application/json")]
        for (name, reference) in settings.headers {
            if case .success(let value) = reference.resolve(environment: ProcessInfo.processInfo.environment) { h.append((name, value)) }
        }
        headers = h
    }

    func noteDropped(_ spans: Int) { droppedSpans.add(spans, ordering: .relaxed) }

    /// Takes finished exchanges from a loop (any queue); drops what exceeds the bound.
    func submit(_ records: [ExchangeRecord]) {
        guard !records.isEmpty else { return }
        queue.async { [self] in
            let dropped = state.withLock { s -> Int in
                let room = max(0, Self.maxQueued - s.pending.count)
                s.pending += records.prefix(room)
                return records.dropFirst(room).reduce(0) { $0 + $1.spanCount }
            }
            if dropped > 0 { noteDropped(dropped) }
            sendNext()
        }
    }

    /// Blocks the caller until nothing waits and nothing is being sent, or `timeout` passes (at stop).
    func waitUntilIdle(timeout: Double) {
        let deadline = monotonicSeconds() + timeout
        while monotonicSeconds() < deadline {
            // Submissions made before this call are queued on `queue` ahead of this check.
            let idle = queue.sync { state.withLock { $0.pending.isEmpty && !$0.sending } }
            if idle { return }
            usleep(10_000)
        }
    }

    /// Starts the next POST unless one is running or the collector failed less than a second ago. On `queue`.
    private func sendNext() {
        let now = monotonicSeconds()
        let batch = state.withLock { s -> [ExchangeRecord]? in
            guard !s.sending, !s.pending.isEmpty else { return nil }
            guard now >= s.retryAfter else { return nil }
            let n = min(Self.maxBatch, s.pending.count)
            let batch = Array(s.pending.prefix(n))
            s.pending.removeFirst(n)
            s.sending = true
            return batch
        }
        guard let batch else { return }
        let spans = batch.reduce(0) { $0 + $1.spanCount }
        sender.async { [self] in
            let body = OTLPTraceJSON.encode(batch, serviceName: settings.serviceName)
            let result = BlockingPost.send(url: settings.tracesURL, headers: headers, body: body,
                                           timeoutSeconds: Self.timeoutSeconds)
            let ok: Bool
            if case .success(let status) = result { ok = (200..<300).contains(status) } else { ok = false }
            queue.async { [self] in
                state.withLock { s in
                    s.sending = false
                    if !ok { s.retryAfter = monotonicSeconds() + 1 }
                }
                if ok {
                    exportedSpans.add(spans, ordering: .relaxed)
                    sendNext()
                } else {
                    failedExports.add(1, ordering: .relaxed)
                    noteDropped(spans)
                    queue.asyncAfter(deadline: .now() + 1) { [self] in sendNext() }
                }
            }
        }
    }
}
