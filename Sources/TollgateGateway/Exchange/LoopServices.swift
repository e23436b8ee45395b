import Dispatch
import TollgateCore
import TollgateHTTP
import TollgateLedger
import TollgateUpstream

/// What the gateway keeps per event loop: its upstream client, its ledger batch and its
/// metrics. Lives on the loop's queue (kept as the loop's attachment).
final class LoopServices {
    let upstream: UpstreamClient
    let ledger: LoopLedger?
    let metrics = LoopMetrics()

    init(loop: EventLoop, ledger: Ledger?, logger: @escaping @Sendable (String) -> Void) {
        upstream = UpstreamClient(loop: loop)
        self.ledger = ledger.map { [metrics] in LoopLedger(ledger: $0, loop: loop, metrics: metrics, logError: logger) }
    }
}

/// The rows of every exchange that ends in one batch of a loop, committed in one transaction
/// on the loop's own thread at the end of the batch (no hop to another thread); then those
/// answers' final bytes are released together, in the same batch. Lives on its loop's queue.
final class LoopLedger {
    let ledger: Ledger
    let loop: EventLoop
    let logError: @Sendable (String) -> Void
    let metrics: LoopMetrics
    private var rows: [LedgerRow] = []
    private var waiting: [() -> Void] = []
    private var scheduled = false

    init(ledger: Ledger, loop: EventLoop, metrics: LoopMetrics, logError: @escaping @Sendable (String) -> Void) {
        self.ledger = ledger
        self.loop = loop
        self.metrics = metrics
        self.logError = logError
    }

    /// Commits `rows` with the rest of this batch's, then runs `then` on the loop.
    func commit(_ rows: [LedgerRow], then: @escaping () -> Void) {
        self.rows += rows
        waiting.append(then)
        guard !scheduled else { return }
        scheduled = true
        loop.atEndOfBatch { [self] in flush() }
    }

    private func flush() {
        scheduled = false
        let batch = rows
        let continuations = waiting
        rows.removeAll()
        waiting.removeAll()
        let start = DispatchTime.now().uptimeNanoseconds
        switch ledger.commitIfFree(batch) {
        case .committed(let error):
            committed(batch.count, error: error, since: start, continuations)
        case .busy:
            // A checkpoint or the other loop holds the connection: queue the rows rather than
            // wait, and release these answers when they are committed; the loop serves on. The
            // outcome comes back through the loop's eventfd, so a lingering loop takes it at once.
            let box = LoopBound((self, continuations))
            let loop = loop
            ledger.record(batch, callbackQueue: nil) { error in
                loop.execute {
                    let (ledger, continuations) = box.value
                    ledger.committed(batch.count, error: error, since: start, continuations)
                }
            }
        }
    }

    private func committed(_ count: Int, error: SQLiteError?, since start: UInt64, _ continuations: [() -> Void]) {
        metrics.recordLedgerCommit(seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, rows: count,
                                   failed: error != nil)
        if let error { logError("ledger write failed: \(error)") }
        for then in continuations { then() }
    }
}
