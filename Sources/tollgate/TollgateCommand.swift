#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser

/// `tollgate` — a local LLM gateway.
struct TollgateCommand: ParsableCommand {
    static let version = "0.1.0"

    static let configuration = CommandConfiguration(
        commandName: "tollgate",
        abstract: "A local LLM gateway: one OpenAI-compatible endpoint, many providers, failover and a spend ledger.",
        version: version,
        subcommands: [Serve.self, ConfigCommand.self, ModelsCommand.self, ProvidersCommand.self, SpendCommand.self,
                      LoginCommand.self],
        defaultSubcommand: nil
    )
}

struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Work with configuration files.",
        subcommands: [Check.self]
    )

    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate a config file and show what it sets up.")

        @Option(name: .long, help: "Path to the config file.")
        var config: String

        func run() throws {
            let loaded = try ConfigLoader.load(path: config)
            for warning in loaded.warnings { printError("warning: \(warning)") }
            let snapshot = loaded.snapshot
            print("config \(config) is valid")
            print("listen: \(snapshot.config.listen)")
            print("ledger: \(snapshot.config.ledgerPath)")
            for p in snapshot.providers.sorted(by: { ($0.priority, $0.order) < ($1.priority, $1.order) }) {
                let state = (p.disabledReason.map { "disabled: \($0)" } ?? "enabled") + (p.subscription ? "; subscription, $0" : "")
                print("provider \(p.name): type=\(p.type) protocol=\(p.chat.name) auth=\(p.auth.name) priority=\(p.priority) base_url=\(p.baseURL) models=\(p.models.joined(separator: ",")) [\(state)]")
            }
            for route in snapshot.config.routes {
                print("route \(route.alias): \(route.targets.map(\.description).joined(separator: " -> "))")
            }
        }
    }
}
