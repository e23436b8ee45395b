import CSQLite
import TollgateCore

/// Read-only reports over a ledger file, for the CLI (works while a daemon writes: WAL mode).
public enum LedgerReport {
    public struct Row: Sendable {
        public var key: String
        public var requests: Int
        public var inputTokens: Int
        public var cachedTokens: Int
        public var outputTokens: Int
        public var estimatedRows: Int
        public var cost: Double
        /// What the requests would have cost at list price (more than `cost` under subscriptions).
        public var listCost: Double
    }

    public static func read(path: String, groupBy: String, sinceMs: Int64) throws(SQLiteError) -> [Row] {
        let db = try SQLiteConnection(path: path, readOnly: true)
        let key: String
        switch groupBy {
        case "model": key = "provider || '/' || model"
        case "day": key = "strftime('%Y-%m-%d', time_ms / 1000, 'unixepoch')"
        case "client": key = "COALESCE(client, '-')"
        case "api": key = "api"
        default: key = "provider"
        }
        let order = groupBy == "day" ? "1" : "7 DESC, 1"
        // A ledger no daemon of this version has opened yet lacks the column (migration 3): list price = cost.
        let columns = try db.prepare("PRAGMA table_info(requests)").rows().map { $0[1].text }
        let list = columns.contains("list_cost_usd") ? "list_cost_usd" : "cost_usd"
        let rows = try db.prepare("""
            SELECT \(key), COUNT(DISTINCT request_id), SUM(input_tokens), SUM(cached_tokens), SUM(output_tokens),
                SUM(tokens_estimated), SUM(cost_usd), SUM(\(list))
            FROM requests WHERE time_ms >= ? GROUP BY 1 ORDER BY \(order)
            """).rows([.int(sinceMs)])
        return rows.map { r in
            Row(key: r[0].text, requests: Int(r[1].int), inputTokens: Int(r[2].int), cachedTokens: Int(r[3].int),
                outputTokens: Int(r[4].int), estimatedRows: Int(r[5].int), cost: r[6].double, listCost: r[7].double)
        }
    }
}
