#if canImport(Glibc)
import Glibc
#endif
import CSystemd

/// Talks to systemd's notify socket (Type=notify, see sd_notify(3)). Every call quietly does
/// nothing when the process was not started by systemd (no `NOTIFY_SOCKET`). Callable from any
/// queue: sd_notify sends one datagram and keeps no state.
public enum ServiceNotifier {
    /// Sends `state`, newline-separated `KEY=value` assignments; true when a datagram was sent.
    @discardableResult
    public static func notify(_ state: String) -> Bool {
        sd_notify(0, state) > 0
    }

    /// Startup finished (or a reload did): `READY=1` and a status line.
    public static func ready(status: String) { notify("READY=1\nSTATUS=\(oneLine(status))") }

    /// A free-form line `systemctl status` shows.
    public static func status(_ text: String) { notify("STATUS=\(oneLine(text))") }

    /// `RELOADING=1` with the `MONOTONIC_USEC=` systemd 253 and later expect; follow with `ready`.
    public static func reloading(status: String) {
        notify("RELOADING=1\nMONOTONIC_USEC=\(monotonicMicroseconds())\nSTATUS=\(oneLine(status))")
    }

    /// Shutdown began. `extendTimeout` asks for more time than `TimeoutStopSec=` when the grace
    /// period needs it (systemd only honours it past the configured timeout).
    public static func stopping(status: String, extendTimeout seconds: Double? = nil) {
        var state = "STOPPING=1\nSTATUS=\(oneLine(status))"
        if let seconds { state += "\nEXTEND_TIMEOUT_USEC=\(UInt64(seconds * 1_000_000))" }
        notify(state)
    }

    /// The keep-alive ping for `WatchdogSec=`.
    public static func watchdog() { notify("WATCHDOG=1") }

    /// The watchdog timeout systemd expects pings within (`WATCHDOG_USEC`, when `WATCHDOG_PID`
    /// is unset or ours), in seconds; nil when the watchdog is off.
    public static func watchdogTimeout() -> Double? {
        var usec: UInt64 = 0
        guard sd_watchdog_enabled(0, &usec) > 0, usec > 0 else { return nil }
        return Double(usec) / 1_000_000
    }

    /// CLOCK_MONOTONIC in microseconds (the clock systemd uses for MONOTONIC_USEC).
    static func monotonicMicroseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000 + UInt64(ts.tv_nsec) / 1_000
    }

    /// STATUS= is a single line: newlines would start new assignments.
    static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }
}
