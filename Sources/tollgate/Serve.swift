#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Dispatch
import FoundationEssentials
import Logging
import TollgateCore
import TollgateGateway
import TollgateHTTP
import TollgateLedger
import TollgateSystemd

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the gateway daemon.",
        discussion: """
            Under systemd (Type=notify) it reports READY, STATUS, WATCHDOG, RELOADING and STOPPING, \
            logs to the journal with structured fields, and serves on sockets passed by tollgate.socket. \
            SIGHUP reloads the config; SIGTERM drains requests in flight, then exits.
            """)

    @Option(name: .long, help: "Path to the config file.")
    var config: String

    @Option(name: .long, help: "Listen on HOST:PORT instead of the config's \"listen\" (ignored when systemd passes sockets).")
    var listen: String?

    @Option(name: .long, help: "Number of event loops (default: the config's server.loops, else one per core).")
    var loops: Int?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (overrides the config's log_level, also on reload).")
    var logLevel: String?

    @Flag(name: .long, help: "Measurement only: write no ledger rows (no spend records; budgets count only in memory).")
    var noLedger = false

    @Flag(name: .long, help: "Listen on a non-loopback address even though no client key is configured (anyone who can reach it may spend).")
    var allowUnauthenticated = false

    func validate() throws {
        if let loops, loops < 1 || loops > 256 { throw ValidationError("--loops must be between 1 and 256") }
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
        }
    }

    func run() throws {
        // First, while no other thread reads the environment: sd_listen_fds unsets LISTEN_*.
        let passed = SocketActivation.takeListeningSockets()
        do {
            try serve(passed: passed)
        } catch {
            ServiceNotifier.status("failed to start: \(error)")
            throw error
        }
        dispatchMain()
    }

    private func serve(passed: SocketActivation.Passed) throws {
        let loaded = try ConfigLoader.load(path: config, listenOverride: listen)
        let snapshot = loaded.snapshot
        let levelOverride = logLevel.flatMap(Logger.Level.init(rawValue:))
        let levels = LogLevelSetting(levelOverride ?? Logger.Level(rawValue: snapshot.config.logLevel) ?? .info)
        let toJournal = JournalLogHandler.stderrIsJournal()
        LoggingSystem.bootstrap { _ -> any LogHandler in
            toJournal ? JournalLogHandler(levels: levels) : PlainLogHandler(levels: levels)
        }
        let logger = Logger(label: "tollgate")
        for warning in loaded.warnings { logger.warning("\(warning)") }
        for problem in passed.problems { logger.warning("socket activation: \(problem)") }

        let ledger: Ledger
        do {
            ledger = try Ledger(path: snapshot.config.ledgerPath)
        } catch {
            throw StartupError("cannot open the ledger \(snapshot.config.ledgerPath): \(error)")
        }

        if noLedger { logger.warning("--no-ledger: requests are not recorded in the ledger (measurement only)") }
        let gateway = Gateway(snapshot: snapshot, ledger: noLedger ? nil : ledger, logger: logger)
        let loopCount = loops ?? (snapshot.config.server.loops > 0 ? snapshot.config.server.loops
            : ProcessInfo.processInfo.activeProcessorCount)
        let server = HTTPServer(settings: snapshot.config.server, loops: loopCount, handler: gateway)
        server.logger = { entry in
            logger.info("\(entry.method) \(entry.path) status=\(entry.status) note=\"\(entry.note)\"")
        }
        gateway.observer.attachServer { [server] in
            ServerGauges(openConnections: server.openConnections, requestsInFlight: server.requestsInFlight)
        }

        // A non-loopback listener serves whoever can reach it: only with client keys, or when told so.
        let host = snapshot.config.listen.host
        let loopback = host == "localhost" || host == "::1" || host.hasPrefix("127.")
        if passed.sockets.isEmpty, !loopback, !snapshot.clients.hasKeys {
            guard allowUnauthenticated else {
                throw StartupError("refusing to listen on \(snapshot.config.listen) without client keys: anyone who can reach it could spend through your providers. Configure \"clients\" with keys, listen on 127.0.0.1, or pass --allow-unauthenticated.")
            }
            logger.warning("listening on \(snapshot.config.listen) without client keys (--allow-unauthenticated)")
        }

        var addresses: [String]
        if passed.sockets.isEmpty {
            do {
                let port = try server.start(listen: snapshot.config.listen)
                addresses = [ListenAddress(host: snapshot.config.listen.host, port: port).description]
            } catch {
                throw StartupError("cannot listen on \(snapshot.config.listen): \(error)")
            }
        } else {
            server.start(listeningSockets: passed.sockets)
            addresses = passed.sockets.map(SocketActivation.localAddress)
            if listen != nil { logger.notice("--listen is ignored: systemd passed the sockets to serve on") }
        }
        if let path = snapshot.config.listenUnix, passed.sockets.isEmpty {
            do {
                server.start(listeningSockets: [try Socket.listenUnix(path: path, mode: snapshot.config.listenUnixMode)])
                addresses.append("unix:\(path)")
            } catch {
                throw StartupError("cannot listen on \(path): \(error)")
            }
        }

        let status = StatusReporter(sample: { [gateway, server] in
            let providers = gateway.snapshot.providers
            return StatusSample(providersEnabled: providers.filter(\.isEnabled).count, providersTotal: providers.count,
                                requestsStarted: server.requestsStarted, requestsInFlight: server.requestsInFlight)
        }, extra: { [gateway] in
            // Spend today (UTC) from the budget book: in memory, seeded from the ledger at start.
            let today = gateway.snapshot.providers.reduce(0.0) { $0 + gateway.budgets.snapshot(provider: $1.name).today }
            return today > 0 && today < 0.01 ? "under $0.01 today" : "$" + fixedDecimals(today, 2) + " today"
        })

        var watchdog: ServiceWatchdog?
        if let interval = ServiceWatchdog.systemdInterval() {
            watchdog = ServiceWatchdog(loopQueues: server.loops.map(\.queue), interval: interval, onStall: { late in
                logger.critical("event loop\(late.count == 1 ? "" : "s") \(late.map(String.init).joined(separator: ", ")) stopped turning: withholding watchdog pings, so systemd will restart tollgate")
            }, onRecovery: {
                logger.warning("every event loop is turning again: watchdog pings resumed")
            })
        }

        let daemon = Daemon(configPath: config, listenOverride: listen, logLevelOverride: levelOverride, levels: levels,
                            logger: logger, gateway: gateway, server: server, ledger: ledger, running: snapshot.config,
                            socketActivated: !passed.sockets.isEmpty, status: status, watchdog: watchdog)
        SignalHandling.install(daemon: daemon)

        let enabled = snapshot.providers.filter(\.isEnabled).count
        let via = passed.sockets.isEmpty ? "" : " (sockets passed by systemd)"
        logger.info("tollgate \(TollgateCommand.version) listening on \(addresses.joined(separator: ", "))\(via) with \(loopCount) loops, \(enabled) of \(snapshot.providers.count) providers enabled, logging to \(toJournal ? "the journal" : "stderr")")
        if let watchdog { logger.info("systemd watchdog: pinging every \(seconds(watchdog.interval)) while every loop turns") }
        watchdog?.start()
        ServiceNotifier.ready(status: "listening on \(addresses.joined(separator: ", ")), \(enabled) of \(snapshot.providers.count) providers enabled")
        status.start()
    }
}
