import TollgateCore

/// The failover walk of one request, as a value with no I/O: it is told each candidate's
/// breaker and budget reply and the typed outcome of each attempt, and answers what to do next.
/// It owns same-provider retries and their backoff, the context-length rule, the reporting of
/// providers cooling down or over budget, and the error when every candidate failed.
/// The exchange (`Exchange`) carries its decisions out; tests drive it with tables.
public struct FailoverEngine: Sendable {
    /// What the engine needs to know of one candidate.
    public struct Option: Sendable, Equatable {
        public var provider: String
        public var model: String
        public var contextWindow: Int?
        /// Extra attempts on this provider after a failure worth retrying.
        public var retries: Int
        public init(provider: String, model: String, contextWindow: Int? = nil, retries: Int = 1) {
            self.provider = provider
            self.model = model
            self.contextWindow = contextWindow
            self.retries = retries
        }
    }

    /// A candidate's breaker and budget, checked by the caller just before an attempt.
    public enum Gate: Sendable, Equatable {
        /// Admitted; `probe` when it is the one request through a half-open breaker.
        case open
        case coolingDown(remaining: Double)
        /// A budget refused the reservation; the text names it.
        case overBudget(String)
    }

    public enum Decision: Sendable, Equatable {
        /// Send the request to the candidate at this index (of the options as given).
        case attempt(Int)
        /// Wait this many seconds, then ask `next` again (the same provider is retried).
        case retry(after: Double)
        /// Nothing more to try: answer the client with this error.
        case fail(GatewayError)
    }

    public struct Settings: Sendable, Equatable {
        public var retryBaseDelaySeconds: Double
        public var maxRetryWaitSeconds: Double
        public init(retryBaseDelaySeconds: Double = 0.25, maxRetryWaitSeconds: Double = 10) {
            self.retryBaseDelaySeconds = retryBaseDelaySeconds
            self.maxRetryWaitSeconds = maxRetryWaitSeconds
        }
        public init(_ failover: FailoverSettings) {
            self.init(retryBaseDelaySeconds: failover.retryBaseDelaySeconds,
                      maxRetryWaitSeconds: failover.maxRetryWaitSeconds)
        }
    }

    /// One attempt that failed, for the summary.
    public struct FailedAttempt: Sendable, Equatable {
        public var provider: String
        public var model: String
        public var failure: UpstreamFailure
    }

    public let route: String
    public let options: [Option]
    /// Indexes into `options`, in the order they are tried.
    public let order: [Int]
    let settings: Settings
    /// Returns a factor for the backoff's jitter (0.5...1.5 in production).
    let jitter: @Sendable () -> Double
    /// Monotonic seconds.
    let clock: @Sendable () -> Double

    private var position = 0
    private var retriesUsed = 0
    private var minimumContext: Int?
    private var retryAt: Double?
    public private(set) var attempts = 0
    public private(set) var failures: [FailedAttempt] = []
    public private(set) var refusals: [(provider: String, reason: String)] = []
    public private(set) var cooling: [(provider: String, remaining: Double)] = []

    public init(route: String, options: [Option], order: [Int]? = nil, settings: Settings,
                jitter: @escaping @Sendable () -> Double = { Double.random(in: 0.5...1.5) },
                clock: @escaping @Sendable () -> Double) {
        self.route = route
        self.options = options
        self.order = order ?? Array(options.indices)
        self.settings = settings
        self.jitter = jitter
        self.clock = clock
    }

    /// The candidate now being tried (or about to be), as an index into `options`.
    public var current: Int? { position < order.count ? order[position] : nil }

    /// The next step: an attempt on the first candidate whose gate opens, a wait before a
    /// retry that is not due yet, or the final error when none is left.
    public mutating func next(gate: (Int) -> Gate) -> Decision {
        if let retryAt {
            let now = clock()
            if now < retryAt { return .retry(after: retryAt - now) }
            self.retryAt = nil
        }
        while position < order.count {
            let index = order[position]
            if let minimumContext, (options[index].contextWindow ?? 0) <= minimumContext {
                moveOn()
                continue
            }
            switch gate(index) {
            case .open:
                attempts += 1
                return .attempt(index)
            case .coolingDown(let remaining):
                cooling.append((options[index].provider, remaining))
                moveOn()
            case .overBudget(let reason):
                refusals.append((options[index].provider, reason))
                moveOn()
            }
        }
        return .fail(summary(last: nil))
    }

    /// The current attempt failed: retry it later, go on to the next candidate, or give up.
    public mutating func failed(_ failure: UpstreamFailure, gate: (Int) -> Gate) -> Decision {
        guard let index = current else { return .fail(failure.error) }
        let option = options[index]
        failures.append(FailedAttempt(provider: option.provider, model: option.model, failure: failure))
        switch FailoverPolicy.action(for: failure) {
        case .returnToClient:
            return .fail(summary(last: failure))
        case .largerContext:
            minimumContext = option.contextWindow ?? Int.max
            moveOn()
            guard remaining.contains(where: { (options[$0].contextWindow ?? 0) > minimumContext! }) else {
                return .fail(failure.error)
            }
            return next(gate: gate)
        case .failOver(let retrySameFirst, let signal):
            let backoff = settings.retryBaseDelaySeconds * Double(1 << min(retriesUsed, 8)) * jitter()
            let wait = failure.retryAfter ?? backoff
            let mayRetry = retriesUsed < option.retries && wait <= settings.maxRetryWaitSeconds
            // A rate limit (or overload with a retry-after) is a signal to go elsewhere: the same
            // provider is waited for only when no other candidate is left.
            if mayRetry, retrySameFirst || (signal && !hasOtherCandidate) {
                retriesUsed += 1
                retryAt = clock() + wait
                return .retry(after: wait)
            }
            moveOn()
            guard position < order.count else { return .fail(summary(last: failure)) }
            return next(gate: gate)
        }
    }

    private mutating func moveOn() {
        position += 1
        retriesUsed = 0
    }

    /// Candidates after the current one that the context-length rule still allows.
    private var remaining: [Int] {
        guard position < order.count else { return [] }
        return Array(order[position...])
    }

    private var hasOtherCandidate: Bool {
        order[(position + 1)...].contains { index in
            minimumContext.map { (options[index].contextWindow ?? 0) > $0 } ?? true
        }
    }
}
