import Testing
import TollgateCore
@testable import TollgateLedger

/// The dashboard's reads: recent requests (attempts folded, newest first) and spend per day.
@Suite struct LedgerRecentTests {
    @Test func recentRequestsFoldAttemptsNewestFirst() throws {
        let dir = try LedgerDirectory()
        let ledger = try Ledger(path: dir.ledgerPath)
        defer { ledger.close() }
        for row in [
            LedgerRow.make(timeMs: 1_000, requestID: "a", provider: "alpha", outcome: .failedOver, attempt: 1, status: 502,
                           costUSD: 0.01, usage: Usage(promptTokens: 5, completionTokens: 0), tokensEstimated: true, totalMs: 10),
            LedgerRow.make(timeMs: 1_100, requestID: "a", provider: "beta", outcome: .ok, attempt: 2, status: 200,
                           costUSD: 0.02, usage: Usage(promptTokens: 5, completionTokens: 7), totalMs: 30),
            LedgerRow.make(timeMs: 1_200, requestID: "b", client: "alice", provider: "alpha", costUSD: 0.5),
        ] {
            try ledger.recordNow(row)
        }
        let recent = try ledger.recentRequestsNow(limit: 10)
        #expect(recent.map(\.requestID) == ["b", "a"])
        let a = try #require(recent.last)
        #expect(a.provider == "beta" && a.status == 200 && a.outcome == "ok" && a.attempts == 2)
        #expect(a.inputTokens == 10 && a.outputTokens == 7 && abs(a.costUSD - 0.03) < 1e-12 && a.totalMs == 40)
        #expect(a.estimated)
        #expect(recent.first?.client == "alice" && recent.first?.api == "chat")
        #expect(try ledger.recentRequestsNow(limit: 1).map(\.requestID) == ["b"])
    }

    @Test func dailySpendGroupsByUTCDayAndProvider() throws {
        let dir = try LedgerDirectory()
        let ledger = try Ledger(path: dir.ledgerPath)
        defer { ledger.close() }
        let day: Int64 = 86_400_000
        let start: Int64 = 20_000 * day  // 2024-10-04
        for row in [
            LedgerRow.make(timeMs: start + 10, requestID: "1", provider: "alpha", costUSD: 1),
            LedgerRow.make(timeMs: start + day - 1, requestID: "2", provider: "alpha", costUSD: 2),
            LedgerRow.make(timeMs: start + day, requestID: "3", provider: "alpha", costUSD: 4),
            LedgerRow.make(timeMs: start + day + 5, requestID: "4", provider: "beta", costUSD: 8),
            LedgerRow.make(timeMs: start - 1, requestID: "0", provider: "alpha", costUSD: 16),
        ] {
            try ledger.recordNow(row)
        }
        let spend = try ledger.dailySpendNow(sinceMs: start)
        #expect(spend == [
            DailySpend(day: "2024-10-04", provider: "alpha", costUSD: 3, requests: 2),
            DailySpend(day: "2024-10-05", provider: "alpha", costUSD: 4, requests: 1),
            DailySpend(day: "2024-10-05", provider: "beta", costUSD: 8, requests: 1),
        ])
    }
}
