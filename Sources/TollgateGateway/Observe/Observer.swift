import Dispatch
import Synchronization
import TollgateCore
import TollgateHTTP

/// What the HTTP server counts itself, sampled at scrape time.
public struct ServerGauges: Sendable {
    public var openConnections: Int
    public var requestsInFlight: Int
    public init(openConnections: Int, requestsInFlight: Int) {
        self.openConnections = openConnections
        self.requestsInFlight = requestsInFlight
    }
}

/// Metrics and traces: finds each loop's `LoopMetrics` at scrape time and hands finished
/// exchanges to the trace exporter in batches. Nothing here is touched per request except the
/// calling loop's own `LoopMetrics`; the lock guards the list of loops (one entry per loop).
public final class Observer: Sendable {
    private struct Registered: @unchecked Sendable {
        // Touched only on `queue`, the loop's.
        let metrics: LoopMetrics
        let queue: DispatchQueue
    }

    private let loops = Mutex<[Registered]>([])
    private let server = Mutex<(@Sendable () -> ServerGauges)?>(nil)
    /// The OTLP/HTTP exporter, when `otel.endpoint` is configured (fixed at start).
    let exporter: OTLPExporter?

    init(otel: OTelSettings?) {
        exporter = otel.map { OTLPExporter(settings: $0) }
    }

    /// Lets `/metrics` report open connections and requests in flight (set once the server exists).
    public func attachServer(_ sample: @escaping @Sendable () -> ServerGauges) {
        server.withLock { $0 = sample }
    }

    var serverGauges: ServerGauges? { server.withLock { $0 }?() }

    /// A loop's metrics, once, when its services are created (on the loop's queue).
    func register(_ metrics: LoopMetrics, queue: DispatchQueue) {
        loops.withLock { $0.append(Registered(metrics: metrics, queue: queue)) }
    }

    /// Every loop's values, copied on each loop's own queue and added up; `done` runs on `queue`.
    func gather(on queue: DispatchQueue, done: @escaping @Sendable (LoopMetrics.Values) -> Void) {
        let registered = loops.withLock { $0 }
        let total = Mutex(LoopMetrics.Values())
        let group = DispatchGroup()
        for entry in registered {
            group.enter()
            entry.queue.async {
                let values = entry.metrics.values
                total.withLock { $0.add(values) }
                group.leave()
            }
        }
        group.notify(queue: queue) { done(total.withLock { $0 }) }
    }

    /// At stop: hands every loop's waiting traces to the exporter and waits up to `timeout`
    /// seconds for it to send them (a collector that is down costs at most that).
    public func flushTraces(timeout: Double) {
        guard let exporter else { return }
        for entry in loops.withLock({ $0 }) {
            let batch = entry.queue.sync { () -> [ExchangeRecord] in
                let waiting = entry.metrics.pendingTraces
                entry.metrics.pendingTraces.removeAll()
                return waiting
            }
            exporter.submit(batch)
        }
        exporter.waitUntilIdle(timeout: timeout)
    }

    /// Counts a finished exchange on its loop and, when tracing, queues it for the exporter:
    /// handed over at most every 200 ms per loop, so the exporter's queue is not touched per request.
    func exchangeEnded(_ record: ExchangeRecord, metrics: LoopMetrics, loop: EventLoop) {
        metrics.record(record)
        guard let exporter else { return }
        if metrics.pendingTraces.count >= OTLPExporter.maxQueued {
            exporter.noteDropped(record.spanCount)
            return
        }
        metrics.pendingTraces.append(record)
        guard !metrics.traceFlushScheduled else { return }
        metrics.traceFlushScheduled = true
        _ = loop.schedule(after: 0.2) {
            metrics.traceFlushScheduled = false
            let batch = metrics.pendingTraces
            metrics.pendingTraces.removeAll(keepingCapacity: true)
            exporter.submit(batch)
        }
    }
}

/// The `api` label of a request answered without an exchange (an exchange's adapter names
/// its `InboundAPI`): a small fixed set, from the path.
enum APILabel {
    static func name(path: Substring) -> String {
        switch path {
        case "/v1/chat/completions", "/chat/completions": return "chat"
        case "/v1/embeddings", "/embeddings": return "embeddings"
        case "/v1/messages": return "messages"
        case "/v1/messages/count_tokens": return "count_tokens"
        case "/v1/responses", "/responses": return "responses"
        case "/health", "/healthz": return "health"
        case "/metrics": return "metrics"
        default:
            if path.hasPrefix("/v1/models") || path.hasPrefix("/models") { return "models" }
            if path.hasPrefix("/admin") { return "admin" }
            if path.hasPrefix("/dashboard") { return "dashboard" }
            return "other"
        }
    }
}
