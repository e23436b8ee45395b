import Dispatch
import Synchronization
import TollgateCore
import TollgateHTTP
import TollgateUpstream
import TollgateWire

/// Runs auth strategies' token work (`AuthStrategy.prepare`: reading a sign-in file, a
/// refresh, an exchange) off the event loops, one serial queue per provider: requests that
/// need a token at the same moment wait for one refresh instead of each doing their own (the
/// strategy finds the fresh session in its cache). The result comes back on the loop's queue.
final class CredentialWork: Sendable {
    static let shared = CredentialWork(http: CurlTokenClient())

    let http: any TokenHTTPClient
    private let queues = Mutex<[String: DispatchQueue]>([:])

    init(http: any TokenHTTPClient) { self.http = http }

    func prepare(_ provider: ResolvedProvider, on loop: EventLoop,
                 done: @escaping (Result<SessionCredential, UpstreamFailure>) -> Void) {
        let queue = queues.withLock { all in
            if let q = all[provider.name] { return q }
            let q = DispatchQueue(label: "tollgate.credentials.\(provider.name)")
            all[provider.name] = q
            return q
        }
        let (http, loopQueue, box) = (self.http, loop.queue, LoopBound(done))
        queue.async {
            let result = provider.auth.prepare(provider, http: http)
            loopQueue.async { box.value(result) }
        }
    }
}
