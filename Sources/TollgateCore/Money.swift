/// Dollars with up to 8 decimals and no exponent (`0.00012`, `1.5`): exact enough for one
/// request's cost, used in headers, logs and admin JSON.
public func formatUSD(_ value: Double) -> String {
    if value == 0 { return "0.00" }
    let scaled = Int64((value * 1e8).rounded())
    let whole = scaled / 100_000_000
    var fraction = String(abs(scaled % 100_000_000))
    fraction = String(repeating: "0", count: 8 - fraction.count) + fraction
    while fraction.count > 2, fraction.hasSuffix("0") { fraction.removeLast() }
    return "\(scaled < 0 && whole == 0 ? "-" : "")\(whole).\(fraction)"
}

/// `value` with exactly `decimals` decimals (rounded half away from zero), like `%.Nf`.
public func fixedDecimals(_ value: Double, _ decimals: Int) -> String {
    guard value.isFinite else { return "\(value)" }
    var scale: Double = 1
    for _ in 0..<decimals { scale *= 10 }
    let scaled = (abs(value) * scale).rounded()
    guard scaled < 9e18 else { return "\(value)" }
    let units = Int64(scaled)
    let factor = Int64(scale)
    var text = String(units / factor)
    if decimals > 0 {
        let fraction = String(units % factor)
        text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }
    return (value < 0 && units != 0 ? "-" : "") + text
}
