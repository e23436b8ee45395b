import TollgateCore
import TollgateLedger

/// The ledger rows of one exchange: one per upstream attempt, committed together before the
/// end of the answer reaches the client. Lives on its exchange's loop queue.
struct AttemptLedger {
    let requestID: String
    let api: InboundAPI
    let client: String?
    let route: String
    let streamed: Bool
    private(set) var rows: [LedgerRow] = []
    /// Every row committed so far, and which attempts failed how (for metrics and traces).
    private(set) var booked: [LedgerRow] = []
    private(set) var failures: [ExchangeRecord.Failure] = []

    init(requestID: String, api: InboundAPI, client: String?, route: String, streamed: Bool) {
        self.client = client
        self.requestID = requestID
        self.api = api
        self.route = route
        self.streamed = streamed
    }

    /// Books one attempt.
    mutating func add(_ candidate: Candidate?, attempt: Attempt?, outcome: LedgerOutcome, status: Int,
                      usage: Usage = Usage(), estimated: Bool = false, cost: Double = 0, listCost: Double? = nil,
                      failure: UpstreamFailure.Kind? = nil) {
        if let failure { failures.append(ExchangeRecord.Failure(index: booked.count + rows.count, kind: failure)) }
        rows.append(LedgerRow(timeMs: Int64(wallClockMilliseconds()), requestID: requestID, client: client, api: api, route: route,
                              provider: candidate?.provider.name ?? "-", model: candidate?.model ?? "-",
                              streamed: streamed, outcome: outcome, attempt: attempt?.number ?? 0, status: status,
                              usage: usage, tokensEstimated: estimated, costUSD: cost, listCostUSD: listCost,
                              ttfbMs: attempt?.firstByteMs,
                              totalMs: attempt?.elapsedMs ?? 0))
    }

    /// The last attempt did not end the request: another one follows.
    mutating func markLastFailedOver() {
        if !rows.isEmpty { rows[rows.count - 1].outcome = .failedOver }
    }

    /// The rows booked since the last call, to be committed (kept in `booked` for metrics and traces).
    mutating func takeRows() -> [LedgerRow] {
        let all = rows
        rows.removeAll()
        if booked.isEmpty { booked = all } else { booked += all }
        return all
    }

    /// Commits `rows`, then runs `then` (at once when there are none, or no ledger). Static, so
    /// `then` may read the exchange's `AttemptLedger` while it runs.
    static func commit(_ rows: [LedgerRow], to ledger: LoopLedger?, then: @escaping () -> Void) {
        guard let ledger, !rows.isEmpty else { return then() }
        ledger.commit(rows, then: then)
    }
}
