/// How one upstream attempt ended, as its ledger row records it.
public enum LedgerOutcome: String, Sendable, Equatable, CaseIterable {
    /// The answer reached the client in full.
    case ok
    /// The attempt failed and its error (or a summary naming it) went to the client.
    case upstreamError = "upstream_error"
    /// The client left before the answer ended.
    case clientCancelled = "client_cancelled"
    /// The attempt failed and tollgate went on to another attempt.
    case failedOver = "failed_over"
}
