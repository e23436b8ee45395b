import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import TollgateCore

/// One attempt at an upstream, as recorded in the ledger.
public struct LedgerRow: Sendable, Equatable {
    public var timeMs: Int64
    public var requestID: String
    public var client: String?
    /// The API the client spoke (chat unless set).
    public var api: InboundAPI
    public var route: String
    public var provider: String
    public var model: String
    public var streamed: Bool
    /// `ok`, `upstream_error`, `client_cancelled` or `failed_over`.
    public var outcome: LedgerOutcome
    public var attempt: Int
    public var status: Int
    public var usage: Usage
    public var tokensEstimated: Bool
    public var costUSD: Double
    /// What it would have cost at list price: `costUSD` except under a subscription ($0 there).
    public var listCostUSD: Double
    public var ttfbMs: Double?
    public var totalMs: Double

    public init(timeMs: Int64, requestID: String, client: String? = nil, api: InboundAPI = .chat, route: String, provider: String, model: String,
                streamed: Bool, outcome: LedgerOutcome, attempt: Int, status: Int, usage: Usage, tokensEstimated: Bool,
                costUSD: Double, listCostUSD: Double? = nil, ttfbMs: Double?, totalMs: Double) {
        self.timeMs = timeMs
        self.requestID = requestID
        self.client = client
        self.api = api
        self.route = route
        self.provider = provider
        self.model = model
        self.streamed = streamed
        self.outcome = outcome
        self.attempt = attempt
        self.status = status
        self.usage = usage
        self.tokensEstimated = tokensEstimated
        self.costUSD = costUSD
        self.listCostUSD = listCostUSD ?? costUSD
        self.ttfbMs = ttfbMs
        self.totalMs = totalMs
    }
}

/// The SQLite ledger: one connection (WAL mode). Work that may wait (queued writes, the
/// checkpoint, reports) runs on the ledger's serial queue; an event loop commits its batch's
/// rows on its own thread when the connection is free (`commitIfFree`). Every use of the
/// connection holds `dbLock`, so the two never overlap and a loop never waits for the other.
public final class Ledger: @unchecked Sendable {
    private let queue = DispatchQueue(label: "tollgate.ledger")
    private let dbLock = Mutex(())
    private let db: SQLiteConnection
    var connection: SQLiteConnection { db }
    private let insert: SQLiteStatement
    private let begin: SQLiteStatement
    private let commit: SQLiteStatement
    private let pending = Mutex<[PendingWrite]>([])
    public let path: String

    private let lockFD: Int32

    /// Opens (or creates) the ledger and runs pending migrations. A second tollgate on the
    /// same file is refused: budgets are decided in memory, so two daemons could each let a
    /// provider spend its whole budget. (`tollgate spend` only reads and is always allowed.)
    public init(path: String) throws(SQLiteError) {
        self.path = path
        let lockFD = open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        self.lockFD = lockFD
        guard lockFD >= 0 else {
            throw SQLiteError(code: 0, message: "cannot create the lock file \(path).lock: \(String(cString: strerror(errno)))", sql: nil)
        }
        if flock(lockFD, LOCK_EX | LOCK_NB) != 0 {
            var buffer = [UInt8](repeating: 0, count: 32)
            let n = read(lockFD, &buffer, buffer.count)
            let pid = n > 0 ? String(decoding: buffer[0..<n], as: UTF8.self).trimmingWhitespace() : "?"
            Glibc.close(lockFD)
            throw SQLiteError(code: 0, message: "another tollgate (pid \(pid)) is already using the ledger \(path); run one daemon per ledger", sql: nil)
        }
        ftruncate(lockFD, 0)
        let pid = Array("\(getpid())\n".utf8)
        _ = pid.withUnsafeBytes { pwrite(lockFD, $0.baseAddress, $0.count, 0) }
        do throws(SQLiteError) {
            db = try SQLiteConnection(path: path)
        } catch {
            Glibc.close(lockFD)
            throw error
        }
        try db.execute("PRAGMA journal_mode = WAL")
        try db.execute("PRAGMA synchronous = NORMAL")
        // Commits do not checkpoint (that fsyncs the database file, milliseconds a response
        // would wait for); `noteWritten` queues a checkpoint every `rowsPerCheckpoint` rows.
        try db.execute("PRAGMA wal_autocheckpoint = 0")
        try Migrations.run(on: db)
        insert = try db.prepare("""
            INSERT INTO requests (time_ms, request_id, client, route, provider, model, streamed, outcome, attempt,
                status, input_tokens, cached_tokens, output_tokens, reasoning_tokens, tokens_estimated, cost_usd,
                ttfb_ms, total_ms, api, list_cost_usd)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        begin = try db.prepare("BEGIN IMMEDIATE")
        commit = try db.prepare("COMMIT")
    }

    /// Rows written since the last checkpoint (touched under `dbLock` only).
    private var rowsSinceCheckpoint = 0
    private var checkpointQueued = false
    /// Rows after which the WAL is copied into the database file (about 1,000 WAL pages hold more).
    static let rowsPerCheckpoint = 2000

    /// Called under `dbLock` after a commit: every `rowsPerCheckpoint` rows, a PASSIVE
    /// checkpoint is queued behind the writes waiting now. It runs on the writer's own
    /// connection and queue, so it completes and the next commit starts the WAL from its
    /// beginning (a checkpoint on a second connection racing the writer never completes, and
    /// the WAL and its index would grow without bound).
    private func noteWritten(_ rows: Int) {
        rowsSinceCheckpoint += rows
        guard rowsSinceCheckpoint >= Self.rowsPerCheckpoint, !checkpointQueued else { return }
        checkpointQueued = true
        queue.async { [self] in
            dbLock.withLock { _ in
                rowsSinceCheckpoint = 0
                checkpointQueued = false
                try? db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            }
        }
    }

    /// Commits `rows`, then calls `done` with the outcome on `callbackQueue` (nil: on the
    /// ledger's own queue, right after the commit; `done` must then be short, e.g. hand the
    /// outcome to an event loop with `EventLoop.execute`). Rows that arrive
    /// while a commit is running are committed together in the next transaction (group commit).
    public func record(_ rows: [LedgerRow], callbackQueue: DispatchQueue?,
                       done: @escaping @Sendable (SQLiteError?) -> Void) {
        let first = pending.withLock { list -> Bool in
            list.append(PendingWrite(rows: rows, queue: callbackQueue, done: done))
            return list.count == 1
        }
        if first { queue.async { [self] in drain() } }
    }

    struct PendingWrite: Sendable {
        var rows: [LedgerRow]
        var queue: DispatchQueue?
        var done: @Sendable (SQLiteError?) -> Void
    }

    private func drain() {
        let batch = pending.withLock { list -> [PendingWrite] in
            defer { list.removeAll() }
            return list
        }
        guard !batch.isEmpty else { return }
        let rows = batch.flatMap(\.rows)
        let outcome = dbLock.withLock { _ in
            let outcome = insert(rows)
            noteWritten(rows.count)
            return outcome
        }
        for write in batch {
            if let queue = write.queue { queue.async { write.done(outcome) } } else { write.done(outcome) }
        }
    }

    private func insert(_ rows: [LedgerRow]) -> SQLiteError? {
        do throws(SQLiteError) {
            try begin.run()
            for row in rows { try insert.runBindingInPlace(values(row)) }
            try commit.run()
            return nil
        } catch {
            try? db.execute("ROLLBACK")
            return error
        }
    }

    /// Commits `row` and waits for it.
    public func recordNow(_ row: LedgerRow) throws(SQLiteError) {
        if let error = commitNow([row]) { throw error }
    }

    /// Commits `rows` in one transaction on the calling thread, waiting for the connection if
    /// it is in use.
    public func commitNow(_ rows: [LedgerRow]) -> SQLiteError? {
        guard !rows.isEmpty else { return nil }
        return dbLock.withLock { _ in
            let error = insert(rows)
            noteWritten(rows.count)
            return error
        }
    }

    /// What `commitIfFree` did.
    public enum ImmediateCommit: Sendable {
        /// The rows were committed on the calling thread (or the commit failed with this error).
        case committed(SQLiteError?)
        /// The connection was in use (a checkpoint, another loop's commit, a report): nothing
        /// was written; queue the rows with `record` instead of waiting.
        case busy
    }

    /// Commits `rows` in one transaction on the calling thread if the connection is free at
    /// this moment, without a thread hop; never waits. An event loop uses it at the end of a
    /// batch for the rows of every answer ending in that batch, and falls back to `record`
    /// when the answer is `busy`, so a checkpoint's fsync or another loop's commit never
    /// stalls the connections it serves.
    public func commitIfFree(_ rows: [LedgerRow]) -> ImmediateCommit {
        guard !rows.isEmpty else { return .committed(nil) }
        let outcome: SQLiteError?? = dbLock.withLockIfAvailable { _ in
            let error = insert(rows)
            noteWritten(rows.count)
            return error
        }
        guard let outcome else { return .busy }
        return .committed(outcome)
    }

    /// The answer of `requestID` was committed as `ok` but its last bytes never left (the
    /// client's connection died first): its row becomes `client_cancelled` (499).
    public func markUndelivered(requestID: String) {
        queue.async { [self] in
            dbLock.withLock { _ in
                let sql = "UPDATE requests SET outcome = 'client_cancelled', status = 499 WHERE request_id = ? AND outcome = 'ok'"
                if let statement = try? db.prepare(sql) { try? statement.run([.text(requestID)]) }
            }
        }
    }

    private let lockOpen = Mutex(true)

    deinit { releaseLock() }

    /// Commits what is queued and lets another daemon open the ledger (at shutdown).
    public func close() {
        flush()
        releaseLock()
    }

    private func releaseLock() {
        let wasOpen = lockOpen.withLock { open in
            defer { open = false }
            return open
        }
        guard wasOpen else { return }
        flock(lockFD, LOCK_UN)
        Glibc.close(lockFD)
    }

    /// Runs `body` on the ledger's queue and waits for it.
    func onQueue<T>(_ body: () throws(SQLiteError) -> T) throws(SQLiteError) -> T {
        let result: Result<T, SQLiteError> = queue.sync {
            dbLock.withLock { _ in
                do throws(SQLiteError) {
                    return .success(try body())
                } catch {
                    return .failure(error)
                }
            }
        }
        return try result.get()
    }

    /// Waits until every write queued so far is committed.
    public func flush() {
        queue.sync {}
    }

    /// Waits for every queued write, then copies the WAL into the database file and empties it
    /// (`PRAGMA wal_checkpoint(TRUNCATE)`): the last thing a stopping daemon does.
    public func checkpoint() throws(SQLiteError) {
        try onQueue { () throws(SQLiteError) in try db.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
    }

    public func allRows() throws(SQLiteError) -> [LedgerRow] {
        let rows = try onQueue { () throws(SQLiteError) in
            try db.prepare("""
                SELECT time_ms, request_id, client, route, provider, model, streamed, outcome, attempt, status,
                    input_tokens, cached_tokens, output_tokens, reasoning_tokens, tokens_estimated, cost_usd,
                    ttfb_ms, total_ms, api, list_cost_usd FROM requests ORDER BY id
                """).rows()
        }
        return rows.map { r in
            LedgerRow(timeMs: r[0].int, requestID: r[1].text, client: r[2].optionalText,
                      api: InboundAPI(rawValue: r[18].text) ?? .chat, route: r[3].text,
                      provider: r[4].text, model: r[5].text, streamed: r[6].int != 0, outcome: LedgerOutcome(rawValue: r[7].text) ?? .upstreamError,
                      attempt: Int(r[8].int), status: Int(r[9].int),
                      usage: Usage(promptTokens: Int(r[10].int), completionTokens: Int(r[12].int),
                                   cachedTokens: Int(r[11].int), reasoningTokens: Int(r[13].int)),
                      tokensEstimated: r[14].int != 0, costUSD: r[15].double, listCostUSD: r[19].double,
                      ttfbMs: r[16].optionalDouble,
                      totalMs: r[17].double)
        }
    }

    private func values(_ row: LedgerRow) -> [SQLiteStatement.Value] {
        [
            .int(row.timeMs), .text(row.requestID), row.client.map { .text($0) } ?? .null, .text(row.route),
            .text(row.provider), .text(row.model), .int(row.streamed ? 1 : 0), .text(row.outcome.rawValue),
            .int(Int64(row.attempt)), .int(Int64(row.status)), .int(Int64(row.usage.promptTokens)),
            .int(Int64(row.usage.cachedTokens)), .int(Int64(row.usage.completionTokens)),
            .int(Int64(row.usage.reasoningTokens)), .int(row.tokensEstimated ? 1 : 0), .double(row.costUSD),
            row.ttfbMs.map { .double($0) } ?? .null, .double(row.totalMs), .text(row.api.rawValue),
            .double(row.listCostUSD),
        ]
    }
}

extension SQLiteStatement.Value {
    var int: Int64 {
        switch self {
        case .int(let v): v
        case .double(let v): Int64(v)
        default: 0
        }
    }
    var double: Double {
        switch self {
        case .double(let v): v
        case .int(let v): Double(v)
        default: 0
        }
    }
    var text: String { if case .text(let s) = self { s } else { "" } }
    var optionalText: String? { if case .text(let s) = self { s } else { nil } }
    var optionalDouble: Double? {
        switch self {
        case .double(let v): v
        case .int(let v): Double(v)
        default: nil
        }
    }
}
