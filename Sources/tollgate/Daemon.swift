#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import Logging
import TollgateCore
import TollgateGateway
import TollgateHTTP
import TollgateLedger
import TollgateSystemd

/// The running daemon as SIGHUP (reload) and SIGTERM (graceful stop) see it. Its methods run
/// one at a time on the signal queue (see `SignalHandling`).
final class Daemon: Sendable {
    let configPath: String
    let listenOverride: String?
    let logLevelOverride: Logger.Level?
    let levels: LogLevelSetting
    let logger: Logger
    let gateway: Gateway
    let server: HTTPServer
    let ledger: Ledger
    /// The configuration the listener, server limits and ledger were set up with; a reload
    /// cannot change those.
    let running: Config
    let socketActivated: Bool
    let status: StatusReporter
    let watchdog: ServiceWatchdog?

    init(configPath: String, listenOverride: String?, logLevelOverride: Logger.Level?, levels: LogLevelSetting,
         logger: Logger, gateway: Gateway, server: HTTPServer, ledger: Ledger, running: Config,
         socketActivated: Bool, status: StatusReporter, watchdog: ServiceWatchdog?) {
        self.configPath = configPath
        self.listenOverride = listenOverride
        self.logLevelOverride = logLevelOverride
        self.levels = levels
        self.logger = logger
        self.gateway = gateway
        self.server = server
        self.ledger = ledger
        self.running = running
        self.socketActivated = socketActivated
        self.status = status
        self.watchdog = watchdog
    }

    // MARK: reload

    /// Re-reads the config. A valid one serves every new request (requests in flight finish on
    /// the snapshot they started with); an invalid one is logged with the reason and ignored.
    func reload() {
        ServiceNotifier.reloading(status: "reloading \(configPath)")
        logger.info("reloading \(configPath)")
        let loaded: ConfigLoader.Loaded
        do {
            loaded = try ConfigLoader.load(path: configPath, listenOverride: listenOverride)
        } catch {
            logger.error("reload failed, keeping the current configuration: \(error)")
            status.setNote("last reload failed: \(error)")
            ServiceNotifier.ready(status: "reload failed, running the previous configuration: \(error)")
            return
        }
        for warning in loaded.warnings { logger.warning("\(warning)") }
        let config = loaded.snapshot.config
        let pending = restartOnlyChanges(to: config)
        if !pending.isEmpty {
            logger.warning("reload: \(pending.joined(separator: ", ")) changed; \(pending.count == 1 ? "it applies" : "they apply") only after a restart (systemctl restart tollgate)")
        }
        gateway.replace(loaded.snapshot)
        if logLevelOverride == nil, let level = Logger.Level(rawValue: config.logLevel) { levels.level = level }
        let providers = loaded.snapshot.providers
        let enabled = providers.filter(\.isEnabled).count
        logger.info("reloaded \(configPath): \(enabled) of \(providers.count) providers enabled, \(config.routes.count) routes; requests in flight finish on the previous configuration")
        status.setNote(nil)
        ServiceNotifier.ready(status: "reloaded \(configPath), \(enabled) of \(providers.count) providers enabled")
    }

    /// Settings that differ from what the daemon runs with and need a restart, by config key.
    func restartOnlyChanges(to new: Config) -> [String] {
        var changed: [String] = []
        if !socketActivated, new.listen != running.listen {
            changed.append("listen (\(running.listen) → \(new.listen))")
        }
        if new.ledgerPath != running.ledgerPath { changed.append("ledger") }
        if new.otel != running.otel { changed.append("otel") }
        let old = running.server, now = new.server
        let fields: [(String, Bool)] = [
            ("server.loops", old.loops != now.loops),
            ("server.max_body_bytes", old.maxBodyBytes != now.maxBodyBytes),
            ("server.max_header_bytes", old.maxHeaderBytes != now.maxHeaderBytes),
            ("server.max_connections", old.maxConnections != now.maxConnections),
            ("server.header_timeout_seconds", old.headerTimeoutSeconds != now.headerTimeoutSeconds),
            ("server.body_timeout_seconds", old.bodyTimeoutSeconds != now.bodyTimeoutSeconds),
            ("server.idle_timeout_seconds", old.idleTimeoutSeconds != now.idleTimeoutSeconds),
        ]
        changed += fields.filter(\.1).map(\.0)
        return changed
    }

    // MARK: stop

    /// Stops accepting, lets requests in flight finish within the grace period (the current
    /// config's `shutdown_grace_seconds`), cuts the rest, flushes the ledger and exits 0.
    func stop(signalName: String) -> Never {
        let grace = gateway.snapshot.config.shutdownGraceSeconds
        status.stop()
        server.stopAccepting()
        server.beginDraining()
        var inFlight = server.requestsInFlight
        logger.info("\(signalName): stopping; \(plural(inFlight, "request")) in flight, grace period \(seconds(grace))")
        ServiceNotifier.stopping(status: "stopping: \(plural(inFlight, "request")) in flight", extendTimeout: grace + 15)

        let start = monotonicSeconds()
        var lastReported = inFlight
        while inFlight > 0, monotonicSeconds() - start < grace {
            usleep(20_000)
            inFlight = server.requestsInFlight
            if inFlight != lastReported {
                lastReported = inFlight
                ServiceNotifier.status("stopping: \(plural(inFlight, "request")) in flight")
            }
        }
        if inFlight > 0 {
            logger.warning("grace period of \(seconds(grace)) is over: cutting \(plural(inFlight, "request")) still in flight")
        }
        server.shutdown()
        // Requests cut just now record their ledger rows from their loops: let the loops run
        // that, then wait for the ledger's queue.
        for loop in server.loops { loop.queue.sync {} }
        gateway.observer.flushTraces(timeout: 2)
        var code: Int32 = 0
        ledger.flush()
        do {
            try ledger.checkpoint()
        } catch {
            logger.error("could not flush the ledger \(ledger.path): \(error)")
            code = 1
        }
        watchdog?.stop()
        logger.info("stopped")
        exit(code)
    }
}

/// `30s`, `2.5s`.
func seconds(_ value: Double) -> String {
    value == value.rounded() && abs(value) < 1e15 ? "\(Int(value))s" : "\(value)s"
}

/// `1 request`, `2 requests`.
func plural(_ count: Int, _ noun: String) -> String { "\(count) \(noun)\(count == 1 ? "" : "s")" }
