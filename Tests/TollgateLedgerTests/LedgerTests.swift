import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Testing
import TollgateCore
@testable import TollgateLedger

/// The ledger on a real SQLite file: rows in and out, group commit, spend queries, the
/// single-daemon lock and migrations.
@Suite struct LedgerTests {
    @Test func recordedRowsReadBackFieldForField() throws {
        let dir = try LedgerDirectory()
        let ledger = try Ledger(path: dir.ledgerPath)
        defer { ledger.close() }
        let rows = [
            LedgerRow.make(timeMs: 1_700_000_000_000, requestID: "req-1", client: "10.0.0.1", route: "fast",
                           provider: "alpha", model: "m1", streamed: true, outcome: .ok, attempt: 1, status: 200,
                           costUSD: 0.0125,
                           usage: Usage(promptTokens: 100, completionTokens: 20, cachedTokens: 30, reasoningTokens: 5),
                           tokensEstimated: true, ttfbMs: 12.5, totalMs: 340.25),
            LedgerRow.make(timeMs: 1_700_000_000_001, requestID: "req-2", provider: "beta", outcome: .failedOver,
                           attempt: 2, status: 503, ttfbMs: nil),
            LedgerRow.make(requestID: "req-3", outcome: .clientCancelled, status: 0),
            LedgerRow.make(requestID: "req-4", outcome: .upstreamError, status: 400),
        ]
        try record(rows, on: ledger)
        #expect(try ledger.allRows() == rows)
    }

    /// Texts are bound in place (no copy by SQLite): empty, multi-byte and long ones, next to
    /// NULLs, read back byte for byte, row after row from the same statement.
    @Test func textsBoundInPlaceReadBackExactly() throws {
        let dir = try LedgerDirectory()
        let ledger = try Ledger(path: dir.ledgerPath)
        defer { ledger.close() }
        let rows = [
            LedgerRow.make(requestID: "", client: "ünïcødé 模型 🚀", route: String(repeating: "r", count: 5000),
                           provider: "p", model: ""),
            LedgerRow.make(requestID: "second", client: nil, route: "r2", provider: "é", model: "m\tx", ttfbMs: nil),
        ]
        try record(rows, on: ledger)
        try ledger.recordNow(.make(requestID: "third"))
        let back = try ledger.allRows()
        #expect(back.count == 3)
        for (got, want) in zip(back, rows + [.make(requestID: "third")]) { #expect(got == want) }
    }

    @Test func recordNowCommitsBeforeReturning() throws {
        let dir = try LedgerDirectory()
        let ledger = try Ledger(path: dir.ledgerPath)
        defer { ledger.close() }
        try ledger.recordNow(.make(requestID: "a"))
        try ledger.recordNow(.make(requestID: "b"))
        #expect(try ledger.allRows().map(\.requestID) == ["a", "b"])
    }

    @Test func commitIfFreeCommitsInPlaceAndNeverWaitsForABusyConnection() throws {
        let dir = try LedgerDirectory()
        let ledger = try Ledger(path: dir.ledgerPath)
        defer { ledger.close() }
        guard case .committed(nil) = ledger.commitIfFree([.make(requestID: "free")]) else {
            Issue.record("a free ledger did not commit in place")
            return
        }
        #expect(try ledger.allRows().map(\.requestID) == ["free"])

        // Another thread holds the connection (as a checkpoint does). If commitIfFree waited
        // for it, it would return only when the holder gives up after 5 s, and committed.
        let held = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        DispatchQueue.global().async {
            try? ledger.onQueue { () throws(SQLiteError) in
                held.signal()
                _ = release.wait(timeout: .now() + 5)
            }
        }
        held.wait()
        let busy = ledger.commitIfFree([.make(requestID: "while-busy")])
        release.signal()
        guard case .busy = busy else {
            Issue.record("commitIfFree waited for a busy connection: \(busy)")
            return
        }
        #expect(try ledger.allRows().map(\.requestID) == ["free"])
    }

    @Test func rowsArrivingWhileACommitRunsAreCommittedTogether() throws {
        let dir = try LedgerDirectory()
        let ledger = try Ledger(path: dir.ledgerPath)
        defer { ledger.close() }
        // A trigger refuses one request id: a transaction holding it rolls back whole.
        try ledger.onQueue { () throws(SQLiteError) in
            try ledger.connection.execute("""
                CREATE TEMP TRIGGER poison BEFORE INSERT ON requests WHEN NEW.request_id = 'poison'
                BEGIN SELECT RAISE(ABORT, 'poisoned row'); END
                """)
        }

        // Recorded one at a time, only the poisoned row fails.
        let alone = try record([[.make(requestID: "a1")], [.make(requestID: "poison")], [.make(requestID: "a2")]],
                               on: ledger, whileQueueBlocked: false)
        #expect(alone.map { $0 == nil } == [true, false, true])
        #expect(try ledger.allRows().map(\.requestID) == ["a1", "a2"])

        // Arriving while the ledger is busy, the three writes share one transaction and one outcome.
        let together = try record([[.make(requestID: "b1")], [.make(requestID: "poison")], [.make(requestID: "b2")]],
                                  on: ledger, whileQueueBlocked: true)
        #expect(together.allSatisfy { $0 != nil })
        #expect(together.allSatisfy { $0?.message.contains("poisoned row") == true })
        #expect(try ledger.allRows().map(\.requestID) == ["a1", "a2"])

        // The rollback left the ledger usable.
        try ledger.recordNow(.make(requestID: "c1"))
        #expect(try ledger.allRows().map(\.requestID) == ["a1", "a2", "c1"])
    }

    @Test func aGroupCommitKeepsArrivalOrderAndAnswersEveryWriterOnItsQueue() throws {
        let dir = try LedgerDirectory()
        let ledger = try Ledger(path: dir.ledgerPath)
        defer { ledger.close() }
        let writes: [[LedgerRow]] = (0..<20).map { i in
            i % 3 == 0 ? [.make(requestID: "w\(i)-x"), .make(requestID: "w\(i)-y")] : [.make(requestID: "w\(i)")]
        }
        let outcomes = try record(writes, on: ledger, whileQueueBlocked: true)
        #expect(outcomes.count == 20)
        #expect(outcomes.allSatisfy { $0 == nil })
        #expect(try ledger.allRows().map(\.requestID) == writes.flatMap { $0.map(\.requestID) })
    }

    @Test func concurrentWritersAllLand() throws {
        let dir = try LedgerDirectory()
        let ledger = try Ledger(path: dir.ledgerPath)
        defer { ledger.close() }
        let failures = Atomic<Int>(0)
        let group = DispatchGroup()
        let callbackQueue = DispatchQueue(label: "test.ledger.callbacks")
        DispatchQueue.concurrentPerform(iterations: 200) { i in
            group.enter()
            ledger.record([.make(requestID: "c\(i)")], callbackQueue: callbackQueue) { error in
                if error != nil { failures.add(1, ordering: .relaxed) }
                group.leave()
            }
        }
        try #require(group.wait(timeout: .now() + 20) == .success)
        #expect(failures.load(ordering: .relaxed) == 0)
        let ids = try ledger.allRows().map(\.requestID)
        #expect(ids.count == 200)
        #expect(Set(ids) == Set((0..<200).map { "c\($0)" }))
    }

    @Test func spendIsSplitByProviderDayAndMonth() throws {
        let dir = try LedgerDirectory()
        let ledger = try Ledger(path: dir.ledgerPath)
        defer { ledger.close() }
        let monthStart: Int64 = 1_717_200_000_000  // 2024-06-01T00:00:00Z
        let dayStart: Int64 = monthStart + 14 * 86_400_000  // 2024-06-15
        try record([
            .make(timeMs: monthStart - 1, requestID: "old", provider: "alpha", model: "m1", costUSD: 1,
                  usage: Usage(promptTokens: 10, completionTokens: 1)),
            .make(timeMs: monthStart, requestID: "month", provider: "alpha", model: "m1", costUSD: 2,
                  usage: Usage(promptTokens: 20, completionTokens: 2, cachedTokens: 5)),
            // One request that failed over counts once, its rows' costs and tokens add up.
            .make(timeMs: dayStart, requestID: "today", provider: "alpha", model: "m2", outcome: .failedOver, costUSD: 0.5,
                  usage: Usage(promptTokens: 40, completionTokens: 0)),
            .make(timeMs: dayStart + 1, requestID: "today", provider: "alpha", model: "m2", costUSD: 3.5,
                  usage: Usage(promptTokens: 40, completionTokens: 4), tokensEstimated: true),
            .make(timeMs: dayStart + 2, requestID: "b1", provider: "beta", model: "m1", costUSD: 8,
                  usage: Usage(promptTokens: 1, completionTokens: 1)),
        ], on: ledger)

        let spend = try ledger.spendByProvider(dayStartMs: dayStart, monthStartMs: monthStart)
        #expect(spend.map(\.provider) == ["beta", "alpha"])  // most spent first
        let alpha = try #require(spend.first { $0.provider == "alpha" })
        #expect(alpha.today == 4)
        #expect(alpha.thisMonth == 6)
        #expect(alpha.total == 7)
        let beta = try #require(spend.first { $0.provider == "beta" })
        #expect(beta.today == 8 && beta.thisMonth == 8 && beta.total == 8)

        let summary = try ledger.summaryNow(dayStartMs: dayStart, monthStartMs: monthStart)
        let alphaRow = try #require(summary.providers.first { $0.key == "alpha" })
        #expect(alphaRow.requests == 3)
        #expect(alphaRow.inputTokens == 110)
        #expect(alphaRow.cachedTokens == 5)
        #expect(alphaRow.outputTokens == 7)
        #expect(alphaRow.estimatedRows == 1)
        #expect(summary.models.map(\.key) == ["beta/m1", "alpha/m2", "alpha/m1"])
        let m1 = try #require(summary.models.first { $0.key == "alpha/m1" })
        #expect(m1.today == 0 && m1.thisMonth == 2 && m1.total == 3 && m1.requests == 2)
    }

    @Test func summaryArrivesOnTheCallbackQueue() throws {
        let dir = try LedgerDirectory()
        let ledger = try Ledger(path: dir.ledgerPath)
        defer { ledger.close() }
        try ledger.recordNow(.make(timeMs: 5_000, requestID: "r", provider: "alpha", costUSD: 1.5))
        let callbackQueue = DispatchQueue(label: "test.ledger.summary")
        let key = DispatchSpecificKey<Bool>()
        callbackQueue.setSpecific(key: key, value: true)
        let result = Mutex<(onQueue: Bool, total: Double?)?>(nil)
        let done = DispatchSemaphore(value: 0)
        ledger.summary(dayStartMs: 0, monthStartMs: 0, callbackQueue: callbackQueue) { outcome in
            let total = try? outcome.get().providers.first?.total
            result.withLock { $0 = (DispatchQueue.getSpecific(key: key) == true, total) }
            done.signal()
        }
        try #require(done.wait(timeout: .now() + 10) == .success)
        let got = try #require(result.withLock { $0 })
        #expect(got.onQueue)
        #expect(got.total == 1.5)
    }

    @Test func reopeningKeepsRowsAndDoesNotMigrateAgain() throws {
        let dir = try LedgerDirectory()
        do {
            let ledger = try Ledger(path: dir.ledgerPath)
            try record([.make(requestID: "before-restart", costUSD: 0.25)], on: ledger)
            ledger.close()
        }
        let reopened = try Ledger(path: dir.ledgerPath)
        defer { reopened.close() }
        #expect(try reopened.allRows().map(\.requestID) == ["before-restart"])
        #expect(try userVersion(reopened) == Int64(Migrations.steps.count))
        try reopened.recordNow(.make(requestID: "after-restart"))
        #expect(try reopened.allRows().map(\.requestID) == ["before-restart", "after-restart"])
    }

    @Test func aSecondOpenerIsRefusedUntilTheFirstCloses() throws {
        let dir = try LedgerDirectory()
        let first = try Ledger(path: dir.ledgerPath)
        let refusal = #expect(throws: SQLiteError.self) { _ = try Ledger(path: dir.ledgerPath) }
        #expect(refusal?.message.contains("another tollgate (pid \(getpid()))") == true)
        #expect(refusal?.message.contains(dir.ledgerPath) == true)
        // The refused opener did not disturb the first: it still writes.
        try first.recordNow(.make(requestID: "still-mine"))
        first.close()
        let second = try Ledger(path: dir.ledgerPath)
        defer { second.close() }
        #expect(try second.allRows().map(\.requestID) == ["still-mine"])
    }

    @Test func aReadOnlyReportWorksBesideTheDaemon() throws {
        let dir = try LedgerDirectory()
        let ledger = try Ledger(path: dir.ledgerPath)
        defer { ledger.close() }
        let day: Int64 = 86_400_000
        try record([
            .make(timeMs: 10 * day, requestID: "a", provider: "alpha", model: "m1", costUSD: 1),
            .make(timeMs: 11 * day, requestID: "b", provider: "alpha", model: "m2", costUSD: 2),
            .make(timeMs: 11 * day + 5, requestID: "c", provider: "beta", model: "m1", costUSD: 4),
        ], on: ledger)
        let byProvider = try LedgerReport.read(path: dir.ledgerPath, groupBy: "provider", sinceMs: 0)
        #expect(byProvider.map(\.key) == ["beta", "alpha"])
        #expect(byProvider.map(\.cost) == [4, 3])
        let byDay = try LedgerReport.read(path: dir.ledgerPath, groupBy: "day", sinceMs: 0)
        #expect(byDay.map(\.key) == ["1970-01-11", "1970-01-12"])
        #expect(byDay.map(\.requests) == [1, 2])
        let recentModels = try LedgerReport.read(path: dir.ledgerPath, groupBy: "model", sinceMs: 11 * day)
        #expect(recentModels.map(\.key) == ["beta/m1", "alpha/m2"])
    }

    @Test func aFreshFileGetsTheWholeSchema() throws {
        let dir = try LedgerDirectory()
        let ledger = try Ledger(path: dir.ledgerPath)
        defer { ledger.close() }
        #expect(try userVersion(ledger) == Int64(Migrations.steps.count))
        let objects = try ledger.onQueue { () throws(SQLiteError) in
            try ledger.connection.prepare("SELECT type, name FROM sqlite_master ORDER BY name").rows()
        }
        let names = objects.map { "\($0[0].text):\($0[1].text)" }
        #expect(names.contains("table:requests"))
        #expect(names.contains("index:requests_time"))
        #expect(names.contains("index:requests_provider_time"))
        let mode = try ledger.onQueue { () throws(SQLiteError) in
            try ledger.connection.prepare("PRAGMA journal_mode").rows()
        }
        #expect(mode.first?.first?.text == "wal")
    }

    @Test func migrationsResumeFromTheRecordedVersion() throws {
        let dir = try LedgerDirectory()
        let db = try SQLiteConnection(path: dir.ledgerPath)
        try Migrations.run(on: db)
        #expect(try db.prepare("PRAGMA user_version").rows() == [[.int(Int64(Migrations.steps.count))]])
        // Running again is a no-op (the table exists, a second CREATE would fail).
        try Migrations.run(on: db)
        #expect(try db.prepare("SELECT COUNT(*) FROM requests").rows() == [[.int(0)]])
    }

    /// Migration 3 gives old rows their cost as list price; a subscription row keeps its own.
    @Test func listCostsSurviveMigrationAndReportThem() throws {
        let dir = try LedgerDirectory()
        do {
            let db = try SQLiteConnection(path: dir.ledgerPath)
            try db.execute(Migrations.steps[0])
            try db.execute(Migrations.steps[1])
            try db.execute("PRAGMA user_version = 2")
            try db.execute("""
                INSERT INTO requests (time_ms, request_id, route, provider, model, streamed, outcome, attempt, status,
                    input_tokens, cached_tokens, output_tokens, reasoning_tokens, tokens_estimated, cost_usd, total_ms)
                VALUES (1000, 'old', 'm', 'alpha', 'm', 0, 'ok', 1, 200, 1, 0, 1, 0, 0, 0.5, 1)
                """)
        }
        let ledger = try Ledger(path: dir.ledgerPath)
        defer { ledger.close() }
        var sub = LedgerRow.make(timeMs: 2000, requestID: "sub", provider: "claude", costUSD: 0)
        sub.listCostUSD = 0.25
        try record([sub], on: ledger)
        let rows = try ledger.allRows()
        #expect(rows.map(\.listCostUSD) == [0.5, 0.25])
        #expect(rows.map(\.costUSD) == [0.5, 0])
        let report = try LedgerReport.read(path: dir.ledgerPath, groupBy: "provider", sinceMs: 0)
        #expect(report.map(\.key) == ["alpha", "claude"])
        #expect(report.map(\.listCost) == [0.5, 0.25])
        #expect(report.map(\.cost) == [0.5, 0])
    }

    @Test func ledgerCheckpointEmptiesTheWAL() throws {
        let dir = try LedgerDirectory()
        let ledger = try Ledger(path: dir.ledgerPath)
        defer { ledger.close() }
        for _ in 0..<20 { try ledger.recordNow(.make(requestID: "r")) }
        try ledger.checkpoint()
        let wal = try FileManager.default.attributesOfItem(atPath: dir.ledgerPath + "-wal")[.size] as? Int
        #expect(wal == 0)
        #expect(try ledger.allRows().count == 20)
    }

    @Test func sqliteErrorsCarryCodeMessageAndSQL() throws {
        let dir = try LedgerDirectory()
        let db = try SQLiteConnection(path: dir.ledgerPath)
        let syntax = #expect(throws: SQLiteError.self) { try db.execute("SELEKT 1") }
        #expect(syntax?.code == 1)
        #expect(syntax?.sql == "SELEKT 1")
        #expect(syntax?.description.contains("syntax error") == true)
        let missing = #expect(throws: SQLiteError.self) { _ = try db.prepare("SELECT * FROM missing_table") }
        #expect(missing?.message.contains("no such table") == true)
        #expect(missing?.sql == "SELECT * FROM missing_table")
    }

    // MARK: helpers

    private func userVersion(_ ledger: Ledger) throws -> Int64 {
        try ledger.onQueue { () throws(SQLiteError) in
            try ledger.connection.prepare("PRAGMA user_version").rows().first?.first?.int ?? -1
        }
    }

    /// Records `rows` as one write and waits for its commit.
    private func record(_ rows: [LedgerRow], on ledger: Ledger) throws {
        let outcome = try record([rows], on: ledger, whileQueueBlocked: false)
        if let error = outcome.first ?? nil { throw error }
    }

    /// Records each element of `writes` with its own `record` call and returns each call's outcome.
    /// With `whileQueueBlocked`, the ledger's queue is held busy until every call is made, so the
    /// writes wait for the same commit.
    private func record(_ writes: [[LedgerRow]], on ledger: Ledger, whileQueueBlocked: Bool) throws -> [SQLiteError?] {
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        if whileQueueBlocked {
            DispatchQueue.global().async {
                _ = try? ledger.onQueue { () throws(SQLiteError) in
                    entered.signal()
                    release.wait()
                }
            }
            try #require(entered.wait(timeout: .now() + 10) == .success)
        }
        let outcomes = Mutex<[(index: Int, error: SQLiteError?)]>([])
        let onCallbackQueue = Atomic<Int>(0)
        let callbackQueue = DispatchQueue(label: "test.ledger.record")
        let key = DispatchSpecificKey<Bool>()
        callbackQueue.setSpecific(key: key, value: true)
        let group = DispatchGroup()
        for (i, rows) in writes.enumerated() {
            group.enter()
            ledger.record(rows, callbackQueue: callbackQueue) { error in
                if DispatchQueue.getSpecific(key: key) == true { onCallbackQueue.add(1, ordering: .relaxed) }
                outcomes.withLock { $0.append((i, error)) }
                group.leave()
            }
            if !whileQueueBlocked { ledger.flush() }
        }
        release.signal()
        try #require(group.wait(timeout: .now() + 20) == .success)
        #expect(onCallbackQueue.load(ordering: .relaxed) == writes.count)
        return outcomes.withLock { $0 }.sorted { $0.index < $1.index }.map(\.error)
    }
}

extension LedgerRow {
    /// A row with test defaults.
    static func make(timeMs: Int64 = 1_000, requestID: String = "req", client: String? = nil, route: String = "m1",
                     provider: String = "alpha", model: String = "m1", streamed: Bool = false, outcome: LedgerOutcome = .ok,
                     attempt: Int = 1, status: Int = 200, costUSD: Double = 0,
                     usage: Usage = Usage(promptTokens: 1, completionTokens: 1), tokensEstimated: Bool = false,
                     ttfbMs: Double? = 1, totalMs: Double = 2) -> LedgerRow {
        LedgerRow(timeMs: timeMs, requestID: requestID, client: client, route: route, provider: provider, model: model,
                  streamed: streamed, outcome: outcome, attempt: attempt, status: status, usage: usage,
                  tokensEstimated: tokensEstimated, costUSD: costUSD, ttfbMs: ttfbMs, totalMs: totalMs)
    }
}

/// A temporary folder for one ledger file, removed at the end of the test.
final class LedgerDirectory {
    let url: URL
    var ledgerPath: String { url.appendingPathComponent("ledger.sqlite").path }

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-ledger-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}
