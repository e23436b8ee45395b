import ArgumentParser
import Dispatch
import Foundation
import Logging
import TollgateCore
import TollgateGateway
import TollgateHTTP
import TollgateLedger
import TollgateSystemd

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway daemon.")

    @Option(name: .long, help: "Path to the config file.")
    var config: String

    @Option(name: .long, help: "Listen on HOST:PORT instead of the config's \"listen\".")
    var listen: String?

    @Option(name: .long, help: "Number of event loops (default: the config's server.loops, else one per core).")
    var loops: Int?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    func validate() throws {
        if let loops, loops < 1 || loops > 256 { throw ValidationError("--loops must be between 1 and 256") }
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() throws {
        let loaded = try ConfigLoader.load(path: config, listenOverride: listen)
        let snapshot = loaded.snapshot
        let level = Logger.Level(rawValue: logLevel ?? snapshot.config.logLevel) ?? .info
        LoggingSystem.bootstrap { _ in PlainLogHandler(level: level) }
        let logger = Logger(label: "tollgate")
        for warning in loaded.warnings { logger.warning("\(warning)") }

        let ledger: Ledger
        do {
            ledger = try Ledger(path: snapshot.config.ledgerPath)
        } catch {
            throw StartupError("cannot open the ledger \(snapshot.config.ledgerPath): \(error)")
        }

        let gateway = Gateway(snapshot: snapshot, ledger: ledger, logger: logger)
        let loopCount = loops ?? (snapshot.config.server.loops > 0 ? snapshot.config.server.loops
            : ProcessInfo.processInfo.activeProcessorCount)
        let server = HTTPServer(settings: snapshot.config.server, loops: loopCount, handler: gateway)
        server.logger = { entry in
            logger.info("\(entry.method) \(entry.path) status=\(entry.status) note=\"\(entry.note)\"")
        }
        let port: UInt16
        do {
            port = try server.start(listen: snapshot.config.listen)
        } catch {
            throw StartupError("cannot listen on \(snapshot.config.listen): \(error)")
        }
        let enabled = snapshot.providers.filter(\.isEnabled).count
        logger.info("tollgate \(TollgateCommand.version) listening on \(snapshot.config.listen.host):\(port) with \(loopCount) loops, \(enabled) of \(snapshot.providers.count) providers enabled")
        ServiceNotifier.ready(status: "\(enabled) providers enabled, listening on port \(port)")

        SignalHandling.install(server: server, logger: logger)
        dispatchMain()
    }
}
