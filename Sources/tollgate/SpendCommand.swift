#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import FoundationEssentials
import TollgateCore
import TollgateLedger

/// `tollgate spend`: a readable report straight from the ledger file (safe while the daemon runs).
struct SpendCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "spend", abstract: "Report spend from the ledger.")

    enum Grouping: String, ExpressibleByArgument, CaseIterable { case provider, model, day, client, api }

    @Option(name: .long, help: "Config file whose \"ledger\" to read (default: config.example.json's).")
    var config: String?

    @Option(name: .long, help: "Ledger file to read (overrides --config).")
    var ledger: String?

    @Option(name: .long, help: "Group by provider, model, day, client or api (the inbound API).")
    var by: Grouping = .provider

    @Option(name: .long, help: "Only requests on or after this UTC date (YYYY-MM-DD).")
    var since: String?

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @Flag(name: .long, help: "Print CSV.")
    var csv = false

    func run() throws {
        let path: String
        if let ledger {
            path = ledger
        } else {
            let configPath = config ?? "config.example.json"
            path = try ConfigLoader.load(path: configPath).snapshot.config.ledgerPath
        }
        guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("no ledger at \(path)") }
        var sinceMs: Int64 = 0
        if let since {
            guard let ms = parseDate(since) else { throw ValidationError("--since expects YYYY-MM-DD, got \(since)") }
            sinceMs = ms
        }
        let report = try LedgerReport.read(path: path, groupBy: by.rawValue, sinceMs: sinceMs)
        let header = [by.rawValue, "requests", "input_tokens", "cached_tokens", "output_tokens", "estimated_rows", "cost_usd",
                      "list_price_usd"]
        let rows = report.map { r in
            [r.key, String(r.requests), String(r.inputTokens), String(r.cachedTokens), String(r.outputTokens),
             String(r.estimatedRows), fixedDecimals(r.cost, 6), fixedDecimals(r.listCost, 6)]
        }
        if json {
            let list: [JSONValue] = report.map { r in
                .object(JSONObject([(by.rawValue, .string(r.key)), ("requests", .int(r.requests)),
                                    ("input_tokens", .int(r.inputTokens)), ("cached_tokens", .int(r.cachedTokens)),
                                    ("output_tokens", .int(r.outputTokens)), ("estimated_rows", .int(r.estimatedRows)),
                                    ("cost_usd", .double(r.cost)), ("list_price_usd", .double(r.listCost))]))
            }
            print(JSONValue.array(list).serializedString())
        } else if csv {
            print(header.joined(separator: ","))
            for row in rows { print(row.map(csvField).joined(separator: ",")) }
        } else {
            let total = report.reduce(0) { $0 + $1.cost }
            let saved = report.reduce(0) { $0 + $1.listCost - $1.cost }
            print(formatTable(header: header.map { $0.uppercased() }, rows: rows))
            print("\ntotal: $\(fixedDecimals(total, 6))  (ledger \(path))")
            // Subscription rows cost $0: what they would have cost at list price is what the subscriptions saved.
            if saved > 0.0000005 { print("saved by subscriptions (list price of $0 rows): $\(fixedDecimals(saved, 6))") }
        }
    }

    func parseDate(_ text: String) -> Int64? {
        let parts = text.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3 else { return nil }
        var c = DateComponents()
        c.year = parts[0]
        c.month = parts[1]
        c.day = parts[2]
        c.timeZone = TimeZone(identifier: "UTC")
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        guard let date = calendar.date(from: c) else { return nil }
        return Int64(date.timeIntervalSince1970 * 1000)
    }

    func csvField(_ s: String) -> String {
        s.contains(",") || s.contains("\"") ? "\"" + s.replacing("\"", with: "\"\"") + "\"" : s
    }
}
