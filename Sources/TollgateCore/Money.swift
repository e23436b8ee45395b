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
