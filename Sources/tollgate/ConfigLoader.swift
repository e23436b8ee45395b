import ArgumentParser
import FoundationEssentials
#if canImport(Glibc)
import Glibc
#endif
import TollgateCore
import TollgateGateway
import TollgateWire

/// Reads, validates and resolves a config file; errors name the file, key and problem.
enum ConfigLoader {
    struct Loaded {
        var snapshot: GatewaySnapshot
        var warnings: [String]
    }

    static func load(path: String, listenOverride: String? = nil) throws -> Loaded {
        guard let bytes = readWholeFile(path) else {
            throw StartupError("cannot read config file \(path)")
        }
        do {
            var config = try Config.parse(bytes)
            if let listenOverride {
                guard let address = ListenAddress.parse(listenOverride) else {
                    throw ConfigError(key: "--listen", problem: "expected HOST:PORT, got \"\(listenOverride)\"")
                }
                config.listen = address
            }
            let resolved = try WireRegistry.resolve(config, environment: ProcessInfo.processInfo.environment)
            let snapshot = GatewaySnapshot(config: config, providers: resolved.providers)
            return Loaded(snapshot: snapshot, warnings: resolved.warnings + snapshot.clients.warnings)
        } catch let error as ConfigError {
            throw StartupError("invalid config \(path): \(error)")
        }
    }
}

func printError(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// A failure to start (bad config, busy port or ledger): printed as `Error: …`, exit status 1.
struct StartupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
