#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import FoundationEssentials

/// SIGHUP reloads the config; SIGTERM and SIGINT stop gracefully. Handlers run one at a time
/// on one serial queue, so a reload and a stop never overlap.
enum SignalHandling {
    nonisolated(unsafe) static var sources: [any DispatchSourceSignal] = []

    static func install(daemon: Daemon) {
        let queue = DispatchQueue(label: "tollgate.signals")
        signal(SIGPIPE, SIG_IGN)
        let actions: [(Int32, String)] = [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT"), (SIGHUP, "SIGHUP")]
        for (signal, name) in actions {
            Glibc.signal(signal, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signal, queue: queue)
            source.setEventHandler {
                if signal == SIGHUP {
                    daemon.reload()
                } else {
                    daemon.stop(signalName: name)
                }
            }
            source.resume()
            sources.append(source)
        }
    }
}
