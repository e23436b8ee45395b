import Dispatch
import TollgateCore

/// One request as the dashboard lists it: its attempts folded into one line (the last
/// attempt's provider, model and status; tokens, cost and time added up).
public struct RecentRequest: Sendable {
    public var requestID: String
    public var timeMs: Int64
    public var api: String?
    public var route: String
    public var provider: String
    public var model: String
    public var status: Int
    public var outcome: String
    public var streamed: Bool
    public var attempts: Int
    public var inputTokens: Int
    public var cachedTokens: Int
    public var outputTokens: Int
    public var reasoningTokens: Int
    public var costUSD: Double
    public var totalMs: Double
    public var ttfbMs: Double?
    public var estimated: Bool
    public var client: String?
}

/// Spend of one UTC day and provider.
public struct DailySpend: Sendable, Equatable {
    /// `YYYY-MM-DD`.
    public var day: String
    public var provider: String
    public var costUSD: Double
    public var requests: Int
}

extension Ledger {
    /// The newest `limit` requests, newest first. Read on a connection of its own (WAL: the writer
    /// is never waited for, nor does it wait); call it off the loops (`readOffLoop`).
    public func recentRequestsNow(limit: Int) throws(SQLiteError) -> [RecentRequest] {
        // SQLite takes the bare columns of an aggregate query from the row its only MAX() picked:
        // MAX(id), the last attempt (a second MIN/MAX would make that row arbitrary).
        let sql = """
            SELECT request_id, MAX(id), time_ms, api, route, provider, model, status, outcome, streamed, COUNT(*),
                SUM(input_tokens), SUM(cached_tokens), SUM(output_tokens), SUM(reasoning_tokens), SUM(cost_usd),
                SUM(total_ms), ttfb_ms, SUM(tokens_estimated), client
            FROM requests WHERE id > (SELECT COALESCE(MAX(id), 0) FROM requests) - ?1 * 4
            GROUP BY request_id ORDER BY MAX(id) DESC LIMIT ?1
            """
        return try readConnection().prepare(sql).rows([.int(Int64(limit))]).map { r in
            RecentRequest(requestID: r[0].text, timeMs: r[2].int, api: r[3].optionalText, route: r[4].text,
                          provider: r[5].text, model: r[6].text, status: Int(r[7].int), outcome: r[8].text,
                          streamed: r[9].int != 0, attempts: Int(r[10].int), inputTokens: Int(r[11].int),
                          cachedTokens: Int(r[12].int), outputTokens: Int(r[13].int), reasoningTokens: Int(r[14].int),
                          costUSD: r[15].double, totalMs: r[16].double, ttfbMs: r[17].optionalDouble,
                          estimated: r[18].int != 0, client: r[19].optionalText)
        }
    }

    /// Spend per UTC day and provider from `sinceMs` on, oldest first (a connection of its own, like `recentRequestsNow`).
    public func dailySpendNow(sinceMs: Int64) throws(SQLiteError) -> [DailySpend] {
        let sql = """
            SELECT time_ms / 86400000, provider, SUM(cost_usd), COUNT(DISTINCT request_id)
            FROM requests WHERE time_ms >= ?1 GROUP BY time_ms / 86400000, provider ORDER BY 1, 2
            """
        return try readConnection().prepare(sql).rows([.int(sinceMs)]).map { r in
            DailySpend(day: civilDay(Int(r[0].int)), provider: r[1].text, costUSD: r[2].double, requests: Int(r[3].int))
        }
    }

    /// A read-only connection for one read, closed when released.
    func readConnection() throws(SQLiteError) -> SQLiteConnection {
        try SQLiteConnection(path: path, readOnly: true)
    }

    /// Runs `body` on a global queue (never on a loop) and delivers its result on `callbackQueue`.
    public func readOffLoop<T: Sendable>(callbackQueue: DispatchQueue, _ body: @escaping @Sendable (Ledger) throws(SQLiteError) -> T,
                                  done: @escaping @Sendable (Result<T, SQLiteError>) -> Void) {
        let box = LoopBound(self)
        DispatchQueue.global().async {
            let result: Result<T, SQLiteError>
            do throws(SQLiteError) {
                result = .success(try body(box.value))
            } catch {
                result = .failure(error)
            }
            callbackQueue.async { done(result) }
        }
    }
}

/// `YYYY-MM-DD` of a day number since 1970-01-01 (UTC).
func civilDay(_ days: Int) -> String {
    let c = utcComponents(Double(days) * 86400)
    func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
    return "\(c.year)-\(two(c.month))-\(two(c.day))"
}
