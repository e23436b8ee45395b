import Synchronization

/// `req_` and 16 hex digits: short, and valid in every provider's tool-call id alphabet. Unique
/// within the process (a counter through a bijective mix) and unpredictable across processes (a
/// random key read once), with no system call per request. Safe from any thread.
func makeRequestID() -> String {
    let n = requestIDCounter.wrappingAdd(1, ordering: .relaxed).oldValue
    return formatRequestID(mixRequestID(requestIDKey &+ n &* 0x9E37_79B9_7F4A_7C15))
}

/// The random key of this process's request ids.
private let requestIDKey: UInt64 = {
    var generator = SystemRandomNumberGenerator()
    return generator.next()
}()

/// Request ids made so far by this process.
private let requestIDCounter = Atomic<UInt64>(0)

/// splitmix64's finalizer: a bijection on 64 bits (each step is invertible), so distinct inputs
/// give distinct ids, and consecutive inputs ids that do not look consecutive.
func mixRequestID(_ x: UInt64) -> UInt64 {
    var z = x
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
}

/// `req_` and `n` as 16 lowercase hex digits, written straight into the string's storage.
func formatRequestID(_ n: UInt64) -> String {
    String(unsafeUninitializedCapacity: 20) { buffer in
        let prefix: (UInt8, UInt8, UInt8, UInt8) = (UInt8(ascii: "r"), UInt8(ascii: "e"), UInt8(ascii: "q"), UInt8(ascii: "_"))
        (buffer[0], buffer[1], buffer[2], buffer[3]) = prefix
        for i in 0..<16 {
            let nibble = UInt8(truncatingIfNeeded: n >> UInt64(60 - 4 * i)) & 0xF
            buffer[4 + i] = nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") - 10 + nibble
        }
        return 20
    }
}

/// A duration for the request log line, to 0.01 ms.
func formatMs(_ ms: Double) -> String {
    let rounded = (ms * 100).rounded() / 100
    return "\(rounded)ms"
}
