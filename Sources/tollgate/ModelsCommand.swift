#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import FoundationEssentials
import TollgateCore
import TollgateGateway

/// `tollgate models list [--json]`: the effective catalog (bundled models with the config's
/// additions and overrides), and what each configured provider serves.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "models", abstract: "Show the model catalog; add or remove providers.",
                                                    subcommands: [List.self, ModelsAdd.self, ModelsRemove.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print the effective model catalog.")

        @Option(name: .long, help: "A config file whose providers and model overrides to apply.")
        var config: String?

        @Flag(name: .long, help: "Print JSON instead of a table.")
        var json = false

        func run() throws {
            var rows: [(name: String, info: ModelInfo)] = []
            let catalog = ModelCatalog.bundled
            if let config {
                let snapshot = try ConfigLoader.load(path: config).snapshot
                for p in snapshot.providers {
                    for model in snapshot.servedModels[p.name] ?? [] {
                        rows.append(("\(p.name)/\(model)", snapshot.info(provider: p, model: model)))
                    }
                }
            }
            for m in catalog.models { rows.append((m.id, m)) }
            if json {
                let list: [JSONValue] = rows.map { row in
                    let m = row.info
                    var o = JSONObject([("id", .string(row.name)), ("provider_type", .string(m.providerType)),
                                        ("protocol", .string(m.protocolName))])
                    o["context_window"] = m.contextWindow.map { .int($0) } ?? .null
                    o["max_output_tokens"] = m.maxOutputTokens.map { .int($0) } ?? .null
                    o["capabilities"] = .array((m.capabilities ?? []).sorted().map { .string($0.rawValue) })
                    o["input_usd_per_mtok"] = .double(m.inputUSDPerMTok)
                    o["output_usd_per_mtok"] = .double(m.outputUSDPerMTok)
                    o["cached_input_usd_per_mtok"] = m.cachedInputUSDPerMTok.map { .double($0) } ?? .null
                    o["priced"] = .bool(m.priced)
                    o["subscription"] = .bool(m.subscription)
                    return .object(o)
                }
                print(JSONValue.object(JSONObject([("prices_read_on", .string(catalog.pricesReadOn)),
                                                   ("models", .array(list))])).serializedString())
                return
            }
            let header = ["MODEL", "TYPE", "PROTOCOL", "CONTEXT", "MAX OUT", "IN $/M", "OUT $/M", "CACHED $/M", "CAPABILITIES"]
            let table = rows.map { row -> [String] in
                let m = row.info
                return [row.name, m.providerType, m.protocolName, m.contextWindow.map(String.init) ?? "-",
                        m.maxOutputTokens.map(String.init) ?? "-", m.priced ? price(m.inputUSDPerMTok) : "?",
                        m.priced ? price(m.outputUSDPerMTok) : "?", m.cachedInputUSDPerMTok.map(price) ?? "-",
                        (m.capabilities ?? []).sorted().map(\.rawValue).joined(separator: ",")
                            + (m.subscription ? " (subscription: $0, list price shown)" : "")]
            }
            print(formatTable(header: header, rows: table))
            print("\nPrices in USD per million tokens, read on \(catalog.pricesReadOn); \"?\" = no price known (recorded at $0).")
        }
    }
}

func price(_ v: Double) -> String {
    var s = fixedDecimals(v, 4)
    while s.hasSuffix("0"), !s.hasSuffix(".0") { s.removeLast() }
    return s
}

/// Left-aligned columns separated by two spaces.
func formatTable(header: [String], rows: [[String]]) -> String {
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, c in i == cells.count - 1 ? c : c + String(repeating: " ", count: max(0, widths[i] - c.count)) }
            .joined(separator: "  ")
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n")
}
