/// The ledger schema, one step per version. A step is never edited once released: changes
/// are new steps appended at the end. `PRAGMA user_version` records how many have run.
enum Migrations {
    static let steps: [String] = [
        """
        CREATE TABLE requests (
            id INTEGER PRIMARY KEY,
            time_ms INTEGER NOT NULL,
            request_id TEXT NOT NULL,
            client TEXT,
            route TEXT NOT NULL,
            provider TEXT NOT NULL,
            model TEXT NOT NULL,
            streamed INTEGER NOT NULL,
            outcome TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            status INTEGER NOT NULL,
            input_tokens INTEGER NOT NULL,
            cached_tokens INTEGER NOT NULL,
            output_tokens INTEGER NOT NULL,
            reasoning_tokens INTEGER NOT NULL,
            tokens_estimated INTEGER NOT NULL,
            cost_usd REAL NOT NULL,
            ttfb_ms REAL,
            total_ms REAL NOT NULL
        );
        CREATE INDEX requests_time ON requests(time_ms);
        CREATE INDEX requests_provider_time ON requests(provider, time_ms);
        """,
        // The inbound API the client spoke (`InboundAPI`); rows written before it existed were chat.
        "ALTER TABLE requests ADD COLUMN api TEXT NOT NULL DEFAULT 'chat';",
        // What the attempt would have cost at list price (a subscription's rows cost $0); rows
        // written before it existed were all at list price.
        "ALTER TABLE requests ADD COLUMN list_cost_usd REAL NOT NULL DEFAULT 0; UPDATE requests SET list_cost_usd = cost_usd;",
    ]

    /// Brings the database up to the newest version inside one transaction.
    static func run(on db: SQLiteConnection) throws(SQLiteError) {
        let version = try db.prepare("PRAGMA user_version").rows().first?.first
        guard case .int(let current) = version ?? .int(0) else { return }
        guard Int(current) < steps.count else { return }
        try db.execute("BEGIN IMMEDIATE")
        do {
            for step in steps[Int(current)...] { try db.execute(step) }
            try db.execute("PRAGMA user_version = \(steps.count)")
            try db.execute("COMMIT")
        } catch {
            try? db.execute("ROLLBACK")
            throw error
        }
    }
}
