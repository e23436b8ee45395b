import Dispatch
import Synchronization

/// Feeds systemd's watchdog (`WatchdogSec=`) only while every event loop is responsive.
///
/// A timer on each loop's queue checks in every half ping interval; a timer on the watchdog's
/// own queue sends `WATCHDOG=1` each ping interval, but only when every loop has checked in
/// since the previous ping. One stuck loop therefore stops the pings and systemd restarts the
/// daemon. Timers live on their queues; shared state is behind a mutex.
public final class ServiceWatchdog: @unchecked Sendable {
    public let interval: Double
    private let loopQueues: [DispatchQueue]
    private let queue = DispatchQueue(label: "tollgate.watchdog")
    private let checkedIn: Mutex<[Bool]>
    private let ping: @Sendable () -> Void
    private let onStall: @Sendable (_ loops: [Int]) -> Void
    private let onRecovery: @Sendable () -> Void
    /// Touched only on `queue`.
    private var stalled = false
    /// Set in `start`, cancelled in `stop`; touched only on `queue`.
    private var timers: [any DispatchSourceTimer] = []

    /// The ping interval systemd asks for: half of `WATCHDOG_USEC`; nil when the watchdog is off.
    public static func systemdInterval() -> Double? { ServiceNotifier.watchdogTimeout().map { $0 / 2 } }

    /// - Parameters:
    ///   - loopQueues: the event loops' serial queues.
    ///   - interval: seconds between pings.
    ///   - ping: sends one ping (defaults to `WATCHDOG=1` to systemd).
    ///   - onStall: called once when pings stop, with the indices of the loops that are late.
    ///   - onRecovery: called when pings resume after a stall.
    public init(loopQueues: [DispatchQueue], interval: Double,
                ping: @escaping @Sendable () -> Void = { ServiceNotifier.watchdog() },
                onStall: @escaping @Sendable ([Int]) -> Void = { _ in },
                onRecovery: @escaping @Sendable () -> Void = {}) {
        self.loopQueues = loopQueues
        self.interval = interval
        self.ping = ping
        self.onStall = onStall
        self.onRecovery = onRecovery
        checkedIn = Mutex([Bool](repeating: false, count: loopQueues.count))
    }

    /// Sends a first ping and starts the timers.
    public func start() {
        let checkInterval = interval / 2
        var timers: [any DispatchSourceTimer] = []
        for (index, loopQueue) in loopQueues.enumerated() {
            let timer = DispatchSource.makeTimerSource(queue: loopQueue)
            timer.schedule(deadline: .now(), repeating: checkInterval, leeway: Self.leeway(checkInterval))
            timer.setEventHandler { [weak self] in self?.checkIn(index) }
            timers.append(timer)
        }
        let pinger = DispatchSource.makeTimerSource(queue: queue)
        pinger.schedule(deadline: .now() + interval, repeating: interval, leeway: Self.leeway(interval))
        pinger.setEventHandler { [weak self] in self?.tick() }
        timers.append(pinger)
        ping()
        queue.sync {
            self.timers = timers
            for timer in timers { timer.resume() }
        }
    }

    /// Cancels the timers; no further pings are sent once this returns.
    public func stop() {
        queue.sync {
            for timer in timers { timer.cancel() }
            timers.removeAll()
        }
    }

    /// Runs on loop `index`'s queue: proof that the loop is turning.
    private func checkIn(_ index: Int) { checkedIn.withLock { $0[index] = true } }

    /// Runs on `queue` once per interval.
    private func tick() {
        let late: [Int] = checkedIn.withLock { flags in
            let late = flags.indices.filter { !flags[$0] }
            if late.isEmpty { flags = [Bool](repeating: false, count: flags.count) }
            return late
        }
        if late.isEmpty {
            ping()
            if stalled {
                stalled = false
                onRecovery()
            }
        } else if !stalled {
            stalled = true
            onStall(late)
        }
    }

    private static func leeway(_ seconds: Double) -> DispatchTimeInterval {
        .microseconds(max(1_000, Int(seconds * 100_000)))
    }
}
