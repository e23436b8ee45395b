import Dispatch
import Synchronization

/// Keeps the ledger's WAL short without making a commit wait: a second SQLite connection
/// on its own queue runs a PASSIVE checkpoint (which never blocks the writer) once enough rows
/// were written, and at most every half second. The writer connection has automatic
/// checkpoints off; `Ledger.checkpoint()` still empties the WAL at shutdown.
final class Checkpointer: @unchecked Sendable {
    private let queue = DispatchQueue(label: "tollgate.ledger.checkpoint", qos: .utility)
    private let db: SQLiteConnection
    private let written = Mutex((rows: 0, scheduled: false))
    /// Rows after which a checkpoint is worth running (about 1,000 WAL pages hold far more).
    static let rowsPerCheckpoint = 2000

    init(path: String) throws(SQLiteError) {
        db = try SQLiteConnection(path: path)
        try db.execute("PRAGMA busy_timeout = 50")
    }

    /// Called on the ledger's queue after a commit.
    func noteWritten(_ rows: Int) {
        let run = written.withLock { state -> Bool in
            state.rows += rows
            guard state.rows >= Self.rowsPerCheckpoint, !state.scheduled else { return false }
            state.scheduled = true
            return true
        }
        guard run else { return }
        queue.asyncAfter(deadline: .now() + 0.5) { [self] in
            written.withLock { $0 = (0, false) }
            try? db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        }
    }
}
