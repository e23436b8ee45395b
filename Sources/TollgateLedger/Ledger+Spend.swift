import Dispatch
import TollgateCore

/// Spend grouped by provider and by model.
public struct SpendSummary: Sendable {
    public struct Row: Sendable {
        public var key: String
        public var today = 0.0
        public var thisMonth = 0.0
        public var total = 0.0
        public var requests = 0
        public var inputTokens = 0
        public var cachedTokens = 0
        public var outputTokens = 0
        public var estimatedRows = 0
        /// What the rows would have cost at list price, in total (more than `total` under subscriptions).
        public var listPriceTotal = 0.0
        public init(key: String) { self.key = key }
    }
    public var providers: [Row]
    public var models: [Row]
    /// Rows that name a client (`clients` in the config), by client.
    public var clients: [Row] = []
}

/// One provider's spend, for seeding budgets at start.
public struct ProviderSpend: Sendable {
    public var provider: String
    public var today: Double
    public var thisMonth: Double
    public var total: Double
}

extension Ledger {
    static func groupSQL(_ column: String) -> String {
        """
        SELECT \(column),
            SUM(CASE WHEN time_ms >= ?1 THEN cost_usd ELSE 0 END),
            SUM(CASE WHEN time_ms >= ?2 THEN cost_usd ELSE 0 END),
            SUM(cost_usd), COUNT(DISTINCT request_id), SUM(input_tokens), SUM(cached_tokens), SUM(output_tokens),
            SUM(tokens_estimated), SUM(list_cost_usd)
        FROM requests GROUP BY \(column) ORDER BY SUM(cost_usd) DESC, \(column)
        """
    }

    static func rows(_ raw: [[SQLiteStatement.Value]]) -> [SpendSummary.Row] {
        raw.map { r in
            var row = SpendSummary.Row(key: r[0].text)
            row.today = r[1].double
            row.thisMonth = r[2].double
            row.total = r[3].double
            row.requests = Int(r[4].int)
            row.inputTokens = Int(r[5].int)
            row.cachedTokens = Int(r[6].int)
            row.outputTokens = Int(r[7].int)
            row.estimatedRows = Int(r[8].int)
            row.listPriceTotal = r[9].double
            return row
        }
    }

    /// Spend per provider (today, this month, total), read synchronously (used at start).
    public func spendByProvider(dayStartMs: Int64, monthStartMs: Int64) throws(SQLiteError) -> [ProviderSpend] {
        try summaryNow(dayStartMs: dayStartMs, monthStartMs: monthStartMs).providers.map {
            ProviderSpend(provider: $0.key, today: $0.today, thisMonth: $0.thisMonth, total: $0.total)
        }
    }

    /// Spend per client (today, this month, total), read synchronously (used at start).
    public func spendByClient(dayStartMs: Int64, monthStartMs: Int64) throws(SQLiteError) -> [ProviderSpend] {
        try summaryNow(dayStartMs: dayStartMs, monthStartMs: monthStartMs).clients.map {
            ProviderSpend(provider: $0.key, today: $0.today, thisMonth: $0.thisMonth, total: $0.total)
        }
    }

    public func summaryNow(dayStartMs: Int64, monthStartMs: Int64) throws(SQLiteError) -> SpendSummary {
        try onQueue { () throws(SQLiteError) -> SpendSummary in
            let args: [SQLiteStatement.Value] = [.int(dayStartMs), .int(monthStartMs)]
            let providers = try self.connection.prepare(Self.groupSQL("provider")).rows(args)
            let models = try self.connection.prepare(Self.groupSQL("provider || '/' || model")).rows(args)
            let clients = try self.connection.prepare(Self.groupSQL("COALESCE(client, '')")).rows(args)
            return SpendSummary(providers: Self.rows(providers), models: Self.rows(models),
                                clients: Self.rows(clients).filter { !$0.key.isEmpty })
        }
    }

    /// The same summary, delivered on `callbackQueue` without blocking the caller.
    public func summary(dayStartMs: Int64, monthStartMs: Int64, callbackQueue: DispatchQueue,
                        done: @escaping @Sendable (Result<SpendSummary, SQLiteError>) -> Void) {
        let box = LoopBound(self)
        DispatchQueue.global().async {
            let result: Result<SpendSummary, SQLiteError>
            do throws(SQLiteError) {
                result = .success(try box.value.summaryNow(dayStartMs: dayStartMs, monthStartMs: monthStartMs))
            } catch {
                result = .failure(error)
            }
            callbackQueue.async { done(result) }
        }
    }
}
