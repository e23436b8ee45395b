import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Milliseconds since 1970 (wall clock): ledger times, budget days, log stamps.
public func wallClockMilliseconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1e6
}

/// Seconds since 1970 (wall clock).
public func wallClockSeconds() -> Double { wallClockMilliseconds() / 1000 }

/// Monotonic seconds, for durations and deadlines (never jumps with the wall clock).
@Sendable public func monotonicSeconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
