import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// `req_` and 16 hex digits: short, and valid in every provider's tool-call id alphabet.
func makeRequestID() -> String {
    var generator = SystemRandomNumberGenerator()
    let n = generator.next() as UInt64
    let hex = String(n, radix: 16)
    return "req_" + String(repeating: "0", count: 16 - hex.count) + hex
}

/// Dollars with up to 8 decimals, no exponent.
func formatUSD(_ value: Double) -> String {
    let scaled = Int64((value * 1e8).rounded())
    let whole = scaled / 100_000_000
    var fraction = String(scaled % 100_000_000)
    fraction = String(repeating: "0", count: 8 - fraction.count) + fraction
    while fraction.count > 2, fraction.hasSuffix("0") { fraction.removeLast() }
    return "\(whole).\(fraction)"
}

public func wallClockMilliseconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1e6
}

public func wallClockSeconds() -> Double { wallClockMilliseconds() / 1000 }

/// Monotonic seconds (for the failover engine's clock).
@Sendable func monotonicSeconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
