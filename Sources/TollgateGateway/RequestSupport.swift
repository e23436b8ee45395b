/// `req_` and 16 hex digits: short, and valid in every provider's tool-call id alphabet.
func makeRequestID() -> String {
    var generator = SystemRandomNumberGenerator()
    let n = generator.next() as UInt64
    let hex = String(n, radix: 16)
    return "req_" + String(repeating: "0", count: 16 - hex.count) + hex
}

/// A duration for the request log line, to 0.01 ms.
func formatMs(_ ms: Double) -> String {
    let rounded = (ms * 100).rounded() / 100
    return "\(rounded)ms"
}
