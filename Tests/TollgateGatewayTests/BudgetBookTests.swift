import Dispatch
import Foundation
import Synchronization
import Testing
import TollgateCore
import TollgateGateway
import TollgateLedger

/// Reservations against daily, monthly and total budgets, at times the test chooses.
@Suite struct BudgetBookTests {
    // UTC instants around the end of June 2024.
    static let june10 = 1_718_020_800.0  // 2024-06-10T12:00:00Z
    static let june30Late = 1_719_791_940.0  // 2024-06-30T23:59:00Z
    static let july1Early = 1_719_792_060.0  // 2024-07-01T00:01:00Z

    @Test func aDailyBudgetCountsReservationsAndSpend() throws {
        let book = BudgetBook(limits: ["p": Budget(dailyUSD: 1)])
        let now = Self.june10
        let first = try book.reserve(provider: "p", amount: 0.6, now: now).get()
        let refusal = try #require(refused(book.reserve(provider: "p", amount: 0.5, now: now)))
        #expect(refusal.budget == "daily")
        #expect(refusal.limit == 1)
        #expect(refusal.spent == 0)
        #expect(refusal.reserved == 0.6)
        #expect(refusal.needed == 0.5)
        #expect(refusal.description == #"provider "p" daily budget of $1.00 (spent $0.00, reserved $0.60, this request needs up to $0.50)"#)

        // Settled below its reservation, the first request frees room.
        book.settle(first, cost: 0.3, now: now)
        let second = try book.reserve(provider: "p", amount: 0.5, now: now).get()
        #expect(refused(book.reserve(provider: "p", amount: 0.3, now: now))?.spent == 0.3)
        let snapshot = book.snapshot(provider: "p", now: now)
        #expect(snapshot.today == 0.3)
        #expect(snapshot.reserved == 0.5)
        #expect(snapshot.budget == Budget(dailyUSD: 1))
        book.settle(second, cost: 0.7, now: now)  // more than reserved: the real cost counts
        #expect(book.snapshot(provider: "p", now: now).today == 1.0)
        #expect(book.snapshot(provider: "p", now: now).reserved == 0)
    }

    @Test func reservingExactlyUpToTheLimitIsAllowed() {
        let book = BudgetBook(limits: ["p": Budget(dailyUSD: 0.3)])
        #expect(book.reserve(provider: "p", amount: 0.1, now: Self.june10).isSuccess)
        #expect(book.reserve(provider: "p", amount: 0.2, now: Self.june10).isSuccess)  // 0.1 + 0.2 in floating point
        #expect(!book.reserve(provider: "p", amount: 0.0001, now: Self.june10).isSuccess)
    }

    @Test func aNewUTCDayResetsTheDailyBudgetOnly() throws {
        let book = BudgetBook(limits: ["p": Budget(dailyUSD: 1, monthlyUSD: 1.5)])
        let r = try book.reserve(provider: "p", amount: 1, now: Self.june30Late).get()
        book.settle(r, cost: 1, now: Self.june30Late)
        #expect(refused(book.reserve(provider: "p", amount: 0.1, now: Self.june30Late))?.budget == "daily")
        // Two minutes later it is July: a new day and a new month.
        let july = try book.reserve(provider: "p", amount: 1, now: Self.july1Early).get()
        book.settle(july, cost: 1, now: Self.july1Early)
        let snapshot = book.snapshot(provider: "p", now: Self.july1Early)
        #expect(snapshot.today == 1)
        #expect(snapshot.thisMonth == 1)
        #expect(snapshot.total == 2)
    }

    @Test func aMonthlyBudgetSpansDaysAndResetsWithTheMonth() throws {
        let book = BudgetBook(limits: ["p": Budget(monthlyUSD: 2)])
        let june20 = Self.june10 + 10 * 86_400
        for (when, cost) in [(Self.june10, 1.5), (june20, 0.25)] {
            let r = try book.reserve(provider: "p", amount: cost, now: when).get()
            book.settle(r, cost: cost, now: when)
        }
        let refusal = try #require(refused(book.reserve(provider: "p", amount: 0.5, now: Self.june30Late)))
        #expect(refusal.budget == "monthly")
        #expect(refusal.spent == 1.75)
        #expect(book.snapshot(provider: "p", now: Self.june30Late).today == 0)
        #expect(book.reserve(provider: "p", amount: 0.5, now: Self.july1Early).isSuccess)
    }

    @Test func aTotalBudgetNeverResets() throws {
        let book = BudgetBook(limits: ["p": Budget(totalUSD: 1)])
        let r = try book.reserve(provider: "p", amount: 0.9, now: Self.june10).get()
        book.settle(r, cost: 0.9, now: Self.june10)
        let nextYear = Self.june10 + 365 * 86_400
        #expect(refused(book.reserve(provider: "p", amount: 0.2, now: nextYear))?.budget == "total")
        #expect(book.reserve(provider: "p", amount: 0.1, now: nextYear).isSuccess)
    }

    @Test func aReservationMadeYesterdayIsSettledIntoToday() throws {
        let book = BudgetBook(limits: ["p": Budget(dailyUSD: 10)])
        let r = try book.reserve(provider: "p", amount: 0.5, now: Self.june30Late).get()
        book.settle(r, cost: 0.4, now: Self.july1Early)
        let snapshot = book.snapshot(provider: "p", now: Self.july1Early)
        #expect(snapshot.reserved == 0)
        #expect(snapshot.today == 0.4)
        #expect(snapshot.thisMonth == 0.4)
        #expect(snapshot.total == 0.4)
    }

    @Test func aFreeRequestIsNeverRefused() throws {
        let book = BudgetBook(limits: ["p": Budget(dailyUSD: 1, monthlyUSD: 1, totalUSD: 1)])
        book.load(provider: "p", today: 5, thisMonth: 5, total: 5, now: Self.june10)
        #expect(!book.reserve(provider: "p", amount: 0.01, now: Self.june10).isSuccess)
        let free = try book.reserve(provider: "p", amount: 0, now: Self.june10).get()
        #expect(free.amount == 0)
        book.settle(free, cost: 0, now: Self.june10)
        #expect(book.snapshot(provider: "p", now: Self.june10).total == 5)
    }

    @Test func aProviderWithoutLimitsTakesAnything() {
        let book = BudgetBook(limits: [:])
        #expect(book.reserve(provider: "anyone", amount: 1e9, now: Self.june10).isSuccess)
        #expect(book.snapshot(provider: "anyone", now: Self.june10).reserved == 1e9)
    }

    @Test func newLimitsApplyToTheNextReservation() {
        let book = BudgetBook(limits: ["p": Budget(dailyUSD: 1)])
        #expect(!book.reserve(provider: "p", amount: 2, now: Self.june10).isSuccess)
        book.update(limits: ["p": Budget(dailyUSD: 5)])
        #expect(book.reserve(provider: "p", amount: 2, now: Self.june10).isSuccess)
    }

    @Test func concurrentReservationsNeverOverspend() {
        let book = BudgetBook(limits: ["p": Budget(dailyUSD: 10)])
        let granted = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 400) { _ in
            if book.reserve(provider: "p", amount: 0.25, now: Self.june10).isSuccess { granted.add(1, ordering: .relaxed) }
        }
        #expect(granted.load(ordering: .relaxed) == 40)
        #expect(book.snapshot(provider: "p", now: Self.june10).reserved == 10)
    }

    @Test func loadedSpendCountsAgainstTheBudgetsOfItsPeriod() {
        let book = BudgetBook(limits: ["p": Budget(dailyUSD: 1, monthlyUSD: 3)])
        book.load(provider: "p", today: 0.9, thisMonth: 2.5, total: 40, now: Self.june30Late)
        #expect(refused(book.reserve(provider: "p", amount: 0.2, now: Self.june30Late))?.budget == "daily")
        #expect(refused(book.reserve(provider: "p", amount: 0.05, now: Self.june30Late)) == nil)
        // Loaded for June 30: on July 1 the day and the month start again, the total stays.
        let july = book.snapshot(provider: "p", now: Self.july1Early)
        #expect(july.today == 0)
        #expect(july.thisMonth == 0)
        #expect(july.total == 40)
    }

    @Test func seededFromTheLedgerAfterARestart() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-budget-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let ledger = try Ledger(path: dir.appendingPathComponent("ledger.sqlite").path)
        defer { ledger.close() }
        let now = Self.june30Late
        for (seconds, cost) in [(now - 40 * 86_400, 10.0), (now - 10 * 86_400, 2.0), (now - 60, 0.75)] {
            try ledger.recordNow(LedgerRow(timeMs: Int64(seconds * 1000), requestID: "r\(seconds)", route: "m",
                                           provider: "p", model: "m", streamed: false, outcome: .ok, attempt: 1,
                                           status: 200, usage: Usage(promptTokens: 1, completionTokens: 1),
                                           tokensEstimated: false, costUSD: cost, ttfbMs: nil, totalMs: 1))
        }
        let starts = utcDayAndMonthStart(now)
        let book = BudgetBook(limits: ["p": Budget(dailyUSD: 1, monthlyUSD: 3, totalUSD: 20)])
        for s in try ledger.spendByProvider(dayStartMs: Int64(starts.day * 1000), monthStartMs: Int64(starts.month * 1000)) {
            book.load(provider: s.provider, today: s.today, thisMonth: s.thisMonth, total: s.total, now: now)
        }
        let snapshot = book.snapshot(provider: "p", now: now)
        #expect(snapshot.today == 0.75)
        #expect(snapshot.thisMonth == 2.75)
        #expect(snapshot.total == 12.75)
        #expect(refused(book.reserve(provider: "p", amount: 0.5, now: now))?.budget == "daily")
        #expect(refused(book.reserve(provider: "p", amount: 0.2, now: now)) == nil)
    }

    // MARK: UTC calendar helpers

    @Test(arguments: [
        (0.0, "1970-01-01", "1970-01"), (1_719_791_940, "2024-06-30", "2024-06"), (1_719_792_060, "2024-07-01", "2024-07"),
        (1_709_208_000, "2024-02-29", "2024-02"), (1_704_063_600, "2023-12-31", "2023-12"), (1_704_067_200, "2024-01-01", "2024-01"),
        (-1, "1969-12-31", "1969-12"),
    ])
    func utcKeysAreCivilDates(seconds: Double, day: String, month: String) {
        let keys = utcKeys(seconds)
        #expect(keys.day == day)
        #expect(keys.month == month)
    }

    @Test func dayAndMonthStartsAreMidnightUTC() {
        let starts = utcDayAndMonthStart(Self.june30Late)
        #expect(starts.day == 1_719_705_600)  // 2024-06-30T00:00:00Z
        #expect(starts.month == 1_717_200_000)  // 2024-06-01T00:00:00Z
        let leap = utcDayAndMonthStart(1_709_208_000)
        #expect(leap.month == 1_706_745_600)  // 2024-02-01T00:00:00Z
    }

    private func refused(_ result: Result<BudgetBook.Reservation, BudgetBook.Refusal>) -> BudgetBook.Refusal? {
        if case .failure(let refusal) = result { refusal } else { nil }
    }
}

extension Result {
    var isSuccess: Bool { if case .success = self { true } else { false } }
}
