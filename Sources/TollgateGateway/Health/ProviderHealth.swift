import Dispatch
import Synchronization
import TollgateCore

/// Circuit breakers for every provider, shared by all loops. After `failureThreshold`
/// consecutive failures a provider cools down (30 s, doubling up to a maximum); when the
/// cooldown ends one probe request is let through (half-open) and its success closes the
/// breaker. A 429 (or 503/529) with a retry-after hint cools the provider down for that long at once.
public final class ProviderHealth: Sendable {
    struct State: Sendable {
        var consecutiveFailures = 0
        var coolingUntil: UInt64?
        var nextCooldown: Double
        var probeInFlight = false
        var inFlight = 0
        var lastError: LastError?
        var successes = 0
        var failures = 0
    }

    public struct LastError: Sendable {
        public var status: Int
        public var message: String
        public var wallTime: Double
    }

    public enum Admission: Sendable, Equatable {
        case allowed
        /// The one request allowed through a provider whose cooldown has ended.
        case probe
        /// Cooling down for this many more seconds (or a probe is already in flight).
        case coolingDown(remaining: Double)
    }

    public enum Outcome: Sendable {
        case success
        /// The provider answered but refused the request itself (400, 413, 422…): it is up.
        case requestError
        case failure(status: Int, message: String, retryAfter: Double?)
        /// The client went away; says nothing about the provider.
        case abandoned
    }

    private let states = Mutex<[String: State]>([:])
    private let settings: Mutex<FailoverSettings>

    /// Monotonic nanoseconds; tests inject their own clock.
    private let clock: @Sendable () -> UInt64

    public init(settings: FailoverSettings,
                clock: @escaping @Sendable () -> UInt64 = { DispatchTime.now().uptimeNanoseconds }) {
        self.settings = Mutex(settings)
        self.clock = clock
    }

    public func update(settings new: FailoverSettings) { settings.withLock { $0 = new } }

    /// Decides whether a request may go to `provider` now; counts it in flight when it may.
    public func admit(_ provider: String) -> Admission {
        let base = settings.withLock { $0.cooldownSeconds }
        let now = clock()
        return states.withLock { all in
            var s = all[provider] ?? State(nextCooldown: base)
            defer { all[provider] = s }
            if let until = s.coolingUntil {
                if now < until { return .coolingDown(remaining: Double(until - now) / 1e9) }
                if s.probeInFlight { return .coolingDown(remaining: 0) }
                s.probeInFlight = true
                s.inFlight += 1
                return .probe
            }
            s.inFlight += 1
            return .allowed
        }
    }

    /// Records how an admitted request ended.
    public func report(_ provider: String, _ outcome: Outcome, wasProbe: Bool) {
        let config = settings.withLock { $0 }
        let now = clock()
        states.withLock { all in
            var s = all[provider] ?? State(nextCooldown: config.cooldownSeconds)
            defer { all[provider] = s }
            s.inFlight = max(0, s.inFlight - 1)
            if wasProbe { s.probeInFlight = false }
            switch outcome {
            case .success, .requestError:
                if case .success = outcome { s.successes += 1 }
                s.consecutiveFailures = 0
                if wasProbe || s.coolingUntil.map({ now >= $0 }) == true {
                    s.coolingUntil = nil
                    s.nextCooldown = config.cooldownSeconds
                }
            case .failure(let status, let message, let retryAfter):
                s.failures += 1
                s.consecutiveFailures += 1
                s.lastError = LastError(status: status, message: String(message.prefix(300)), wallTime: wallClockSeconds())
                if [429, 503, 529].contains(status), let retryAfter, retryAfter > 0 {
                    let wait = min(retryAfter, config.maxCooldownSeconds)
                    let until = now + UInt64(wait * 1e9)
                    s.coolingUntil = max(s.coolingUntil ?? 0, until)
                } else if wasProbe || s.consecutiveFailures >= config.failureThreshold {
                    if s.coolingUntil == nil || wasProbe || now >= (s.coolingUntil ?? 0) {
                        s.coolingUntil = now + UInt64(s.nextCooldown * 1e9)
                        s.nextCooldown = min(s.nextCooldown * 2, config.maxCooldownSeconds)
                    }
                }
            case .abandoned:
                break
            }
        }
    }

    /// Requests admitted to `provider` that have not reported yet (for least-busy balancing).
    public func inFlight(_ provider: String) -> Int {
        states.withLock { $0[provider]?.inFlight ?? 0 }
    }

    /// A snapshot for GET /admin/providers.
    public func status(of provider: String) -> ProviderStatus {
        let base = settings.withLock { $0.cooldownSeconds }
        let now = clock()
        let s = states.withLock { $0[provider] } ?? State(nextCooldown: base)
        var status = ProviderStatus(state: .healthy, consecutiveFailures: s.consecutiveFailures, inFlight: s.inFlight,
                                    lastError: s.lastError, successes: s.successes, failures: s.failures)
        if let until = s.coolingUntil {
            if now < until {
                status.state = .coolingDown
                status.coolingUntilWall = wallClockSeconds() + Double(until - now) / 1e9
            } else {
                status.state = .halfOpen
            }
        }
        return status
    }
}

/// One provider's health as the admin endpoint shows it.
public struct ProviderStatus: Sendable {
    public var state: ProviderState
    public var coolingUntilWall: Double?
    public var consecutiveFailures: Int
    public var inFlight: Int
    public var lastError: ProviderHealth.LastError?
    public var successes: Int
    public var failures: Int
}

/// Where a provider's circuit breaker stands.
public enum ProviderState: String, Sendable, Equatable {
    case healthy
    /// Failing: no request goes to it until the cooldown ends.
    case coolingDown = "cooling_down"
    /// The cooldown has ended; the next request is a probe.
    case halfOpen = "half_open"
    /// A credential is missing: it is never tried.
    case disabled
}
