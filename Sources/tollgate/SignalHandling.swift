import Dispatch
import Foundation
import Logging
import TollgateHTTP
import TollgateSystemd

/// SIGTERM and SIGINT: stop accepting, let requests in flight finish (up to a grace period),
/// then exit 0.
enum SignalHandling {
    nonisolated(unsafe) static var sources: [any DispatchSourceSignal] = []

    static func install(server: HTTPServer, logger: Logger, graceSeconds: Double = 30) {
        let queue = DispatchQueue(label: "tollgate.signals")
        for signal in [SIGTERM, SIGINT] {
            Foundation.signal(signal, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signal, queue: queue)
            source.setEventHandler {
                logger.info("signal \(signal): stopping; \(server.requestsInFlight) requests in flight")
                ServiceNotifier.stopping()
                server.stopAccepting()
                server.beginDraining()
                let deadline = Date().addingTimeInterval(graceSeconds)
                while server.requestsInFlight > 0, Date() < deadline { usleep(20_000) }
                server.shutdown()
                logger.info("stopped")
                exit(0)
            }
            source.resume()
            sources.append(source)
        }
        Foundation.signal(SIGPIPE, SIG_IGN)
    }
}
