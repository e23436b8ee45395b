import Synchronization
import TollgateCore

/// Requests and tokens per minute for each client, over a sliding 60-second window. A request
/// is admitted when both counts are under the client's limits; it then counts as one request
/// and its estimated tokens, corrected to the real count when it ends. Under one lock.
public final class RateLimiter: Sendable {
    struct Event: Sendable {
        var time: Double
        var tokens: Int
    }
    struct Window: Sendable {
        var events: [Event] = []
        var nextID = 0
        var ids: [Int] = []
    }
    static let windowSeconds = 60.0

    private let windows = Mutex<[String: Window]>([:])

    public init() {}

    /// A ticket for an admitted request, to correct its tokens when it ends.
    public struct Ticket: Sendable {
        let client: String
        let id: Int
    }

    /// Admits a request of `tokens` estimated tokens, or says how long until it would be.
    public func admit(client: String, rpm: Int?, tpm: Int?, tokens: Int, now: Double = monotonicSeconds())
        -> Result<Ticket, RateLimited>
    {
        windows.withLock { all in
            var w = all[client] ?? Window()
            let start = now - Self.windowSeconds
            var dropped = 0
            while dropped < w.events.count, w.events[dropped].time <= start { dropped += 1 }
            if dropped > 0 {
                w.events.removeFirst(dropped)
                w.ids.removeFirst(dropped)
            }
            defer { all[client] = w }
            if let rpm, w.events.count >= rpm {
                return .failure(RateLimited(limit: "\(rpm) requests per minute", retryAfter: w.events[w.events.count - rpm].time - start))
            }
            if let tpm {
                let used = w.events.reduce(0) { $0 + $1.tokens }
                if used + tokens > tpm, !w.events.isEmpty {
                    // Waits until enough old requests leave the window.
                    var freed = 0
                    var wait = Self.windowSeconds
                    for e in w.events {
                        freed += e.tokens
                        if used - freed + tokens <= tpm {
                            wait = e.time - start
                            break
                        }
                    }
                    return .failure(RateLimited(limit: "\(tpm) tokens per minute", retryAfter: wait))
                }
            }
            let id = w.nextID
            w.nextID += 1
            w.events.append(Event(time: now, tokens: tokens))
            w.ids.append(id)
            return .success(Ticket(client: client, id: id))
        }
    }

    /// The request ended having used `tokens` (input and output).
    public func settle(_ ticket: Ticket, tokens: Int) {
        windows.withLock { all in
            guard var w = all[ticket.client], let i = w.ids.firstIndex(of: ticket.id) else { return }
            w.events[i].tokens = tokens
            all[ticket.client] = w
        }
    }

    public struct RateLimited: Error, Sendable {
        public var limit: String
        public var retryAfter: Double
    }
}
