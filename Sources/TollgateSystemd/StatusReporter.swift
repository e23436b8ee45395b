import Dispatch

/// The figures the status line reports.
public struct StatusSample: Sendable, Equatable {
    public var providersEnabled: Int
    public var providersTotal: Int
    /// Requests started since the daemon started (a running total).
    public var requestsStarted: Int
    public var requestsInFlight: Int

    public init(providersEnabled: Int, providersTotal: Int, requestsStarted: Int, requestsInFlight: Int) {
        self.providersEnabled = providersEnabled
        self.providersTotal = providersTotal
        self.requestsStarted = requestsStarted
        self.requestsInFlight = requestsInFlight
    }
}

/// Keeps systemd's `STATUS=` current (`systemctl status` shows it):
/// `4 providers, 12 req/s, 3 in flight, 1234 served, $1.23 today`.
/// Samples every `interval` seconds on its own queue and sends only when the line changed;
/// requests per second are averaged over the last `window` seconds.
public final class StatusReporter: @unchecked Sendable {
    private let interval: Double
    private let window: Double
    private let sample: @Sendable () -> StatusSample
    private let extra: @Sendable () -> String?
    private let send: @Sendable (String) -> Void
    private let queue = DispatchQueue(label: "tollgate.status")
    /// Touched only on `queue`.
    private var timer: (any DispatchSourceTimer)?
    /// (seconds, requests started) samples within the window; touched only on `queue`.
    private var history: [(time: Double, total: Int)] = []
    /// The last line sent; touched only on `queue`.
    private var lastSent: String?
    /// Appended after `; ` until cleared (for example why the last reload failed); on `queue`.
    private var note: String?

    /// - Parameters:
    ///   - sample: reads the current figures (called on the reporter's queue).
    ///   - extra: an optional tail such as `"$1.23 today"`; nil adds nothing.
    ///   - send: delivers a line (defaults to `STATUS=` to systemd).
    public init(interval: Double = 2, window: Double = 10,
                sample: @escaping @Sendable () -> StatusSample,
                extra: @escaping @Sendable () -> String? = { nil },
                send: @escaping @Sendable (String) -> Void = { ServiceNotifier.status($0) }) {
        self.interval = interval
        self.window = window
        self.sample = sample
        self.extra = extra
        self.send = send
    }

    public func start() {
        let source = DispatchSource.makeTimerSource(queue: queue)
        source.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(100))
        source.setEventHandler { [weak self] in self?.tick() }
        queue.sync {
            history = [(Self.now(), sample().requestsStarted)]
            timer = source
            source.resume()
        }
    }

    /// Stops updating (the shutdown and reload paths set their own status).
    public func stop() {
        queue.sync {
            timer?.cancel()
            timer = nil
        }
    }

    /// Keeps `text` at the end of the line (nil clears it) and sends the line at once.
    public func setNote(_ text: String?) {
        queue.async { [self] in
            note = text
            tick()
        }
    }

    /// The current line (also what the next tick would send); call on any queue.
    public func currentLine() -> String {
        queue.sync { line(now: Self.now(), recording: false) }
    }

    private func tick() {
        let text = line(now: Self.now(), recording: true)
        guard text != lastSent else { return }
        lastSent = text
        send(text)
    }

    /// Runs on `queue`.
    private func line(now: Double, recording: Bool) -> String {
        let current = sample()
        let oldest = history.first ?? (now, current.requestsStarted)
        let elapsed = now - oldest.time
        let rate = elapsed > 0 ? Double(current.requestsStarted - oldest.total) / elapsed : 0
        if recording {
            history.append((now, current.requestsStarted))
            while history.count > 2, now - history[1].time >= window { history.removeFirst() }
        }
        let text = Self.format(current, requestsPerSecond: rate, extra: extra())
        return note.map { text + "; " + $0 } ?? text
    }

    /// `2 providers, 0.4 req/s, 1 in flight, 37 served[, extra]`; `3 of 4 providers enabled` when
    /// some are disabled.
    public static func format(_ s: StatusSample, requestsPerSecond rate: Double, extra: String? = nil) -> String {
        let providers = s.providersEnabled == s.providersTotal
            ? "\(s.providersTotal) provider\(s.providersTotal == 1 ? "" : "s")"
            : "\(s.providersEnabled) of \(s.providersTotal) providers enabled"
        var parts = [providers, "\(formatRate(rate)) req/s", "\(s.requestsInFlight) in flight",
                     "\(s.requestsStarted) served"]
        if let extra, !extra.isEmpty { parts.append(extra) }
        return parts.joined(separator: ", ")
    }

    /// One decimal below 10 (`0.4`), whole numbers above (`12`).
    static func formatRate(_ rate: Double) -> String {
        guard rate.isFinite, rate > 0 else { return "0" }
        if rate >= 10 { return String(Int(rate.rounded())) }
        let tenths = Int((rate * 10).rounded())
        return "\(tenths / 10).\(tenths % 10)"
    }

    private static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}
