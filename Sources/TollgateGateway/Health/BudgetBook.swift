import Synchronization
import TollgateCore

/// Spend and reservations per provider against their budgets, decided in memory under one
/// lock so concurrent requests cannot overspend: a request reserves its worst-case cost before
/// it goes upstream, and the reservation is settled to the real cost when it ends.
public final class BudgetBook: Sendable {
    struct Account: Sendable {
        var day = ""
        var month = ""
        var spentDay = 0.0
        var spentMonth = 0.0
        var spentTotal = 0.0
        var reserved = 0.0
    }

    public struct Reservation: Sendable {
        public let provider: String
        public let amount: Double
        let day: String
        let month: String
    }

    /// Which limit refused a reservation, for the client's 429.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public let provider: String
        public let budget: String
        public let limit: Double
        public let spent: Double
        public let reserved: Double
        public let needed: Double
        /// What owns the budget: `provider` or `client`.
        public var owner = "provider"
        public var description: String {
            "\(owner) \"\(provider)\" \(budget) budget of $\(formatUSD(limit)) (spent $\(formatUSD(spent)), reserved $\(formatUSD(reserved)), this request needs up to $\(formatUSD(needed)))"
        }
    }

    private let accounts = Mutex<[String: Account]>([:])
    private let limits: Mutex<[String: Budget]>
    /// What the accounts are (`provider` or `client`), for refusals.
    let owner: String

    public init(limits: [String: Budget], owner: String = "provider") {
        self.limits = Mutex(limits)
        self.owner = owner
    }

    public func update(limits new: [String: Budget]) { limits.withLock { $0 = new } }

    /// Seeds spend from the ledger after a start.
    public func load(provider: String, today: Double, thisMonth: Double, total: Double, now: Double = wallClockSeconds()) {
        let (day, month) = utcKeys(now)
        accounts.withLock { all in
            var a = all[provider] ?? Account()
            a.day = day
            a.month = month
            a.spentDay = today
            a.spentMonth = thisMonth
            a.spentTotal = total
            all[provider] = a
        }
    }

    /// Reserves `amount` USD against every limit of `provider`. A $0 request is never refused.
    public func reserve(provider: String, amount: Double, now: Double = wallClockSeconds()) -> Result<Reservation, Refusal> {
        let (day, month) = utcKeys(now)
        let budget = limits.withLock { $0[provider] } ?? Budget()
        return accounts.withLock { all in
            var a = all[provider] ?? Account()
            roll(&a, day: day, month: month)
            defer { all[provider] = a }
            if amount > 0 {
                let checks: [(String, Double?, Double)] = [
                    ("daily", budget.dailyUSD, a.spentDay), ("monthly", budget.monthlyUSD, a.spentMonth),
                    ("total", budget.totalUSD, a.spentTotal),
                ]
                for (name, limit, spent) in checks {
                    guard let limit else { continue }
                    if spent + a.reserved + amount > limit + 1e-12 {
                        return .failure(Refusal(provider: provider, budget: name, limit: limit, spent: spent,
                                                reserved: a.reserved, needed: amount, owner: owner))
                    }
                }
            }
            a.reserved += amount
            return .success(Reservation(provider: provider, amount: amount, day: day, month: month))
        }
    }

    /// Replaces a reservation by the real cost.
    public func settle(_ reservation: Reservation, cost: Double, now: Double = wallClockSeconds()) {
        let (day, month) = utcKeys(now)
        accounts.withLock { all in
            var a = all[reservation.provider] ?? Account()
            roll(&a, day: day, month: month)
            a.reserved = max(0, a.reserved - reservation.amount)
            a.spentDay += cost
            a.spentMonth += cost
            a.spentTotal += cost
            all[reservation.provider] = a
        }
    }

    public struct Snapshot: Sendable {
        public var today: Double
        public var thisMonth: Double
        public var total: Double
        public var reserved: Double
        public var budget: Budget
    }

    public func snapshot(provider: String, now: Double = wallClockSeconds()) -> Snapshot {
        let (day, month) = utcKeys(now)
        let budget = limits.withLock { $0[provider] } ?? Budget()
        return accounts.withLock { all in
            var a = all[provider] ?? Account()
            roll(&a, day: day, month: month)
            all[provider] = a
            return Snapshot(today: a.spentDay, thisMonth: a.spentMonth, total: a.spentTotal, reserved: a.reserved,
                            budget: budget)
        }
    }

    private func roll(_ a: inout Account, day: String, month: String) {
        if a.day != day {
            a.day = day
            a.spentDay = 0
        }
        if a.month != month {
            a.month = month
            a.spentMonth = 0
        }
    }
}
