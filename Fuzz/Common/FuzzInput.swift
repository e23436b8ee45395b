
/// A fuzz input read front to back: leading bytes steer the target, the rest is data.
struct FuzzInput {
    let bytes: [UInt8]
    private(set) var index = 0

    init(_ data: UnsafePointer<UInt8>, _ size: Int) {
        bytes = Array(UnsafeBufferPointer(start: data, count: size))
    }

    /// The next byte, 0 once the input is used up.
    mutating func byte() -> UInt8 {
        guard index < bytes.count else { return 0 }
        defer { index += 1 }
        return bytes[index]
    }

    /// Everything not read yet.
    var rest: ArraySlice<UInt8> { bytes[index...] }
}

/// `bytes` cut into pieces of 1...`maxPiece` bytes, the lengths drawn from a generator seeded
/// by `seed`, for checking that a parser fed in pieces agrees with one fed whole.
func pieces(_ bytes: ArraySlice<UInt8>, seed: UInt8, maxPiece: Int = 17) -> [ArraySlice<UInt8>] {
    var state = UInt64(seed) &* 0x9E37_79B9_7F4A_7C15 | 1
    var result: [ArraySlice<UInt8>] = []
    var start = bytes.startIndex
    while start < bytes.endIndex {
        // xorshift64
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        let length = seed == 0 ? 1 : Int(state % UInt64(maxPiece)) + 1
        let end = min(bytes.endIndex, start + length)
        result.append(bytes[start..<end])
        start = end
    }
    return result
}

/// Fails the run (libFuzzer saves the input) when an invariant does not hold.
func require(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String,
             file: StaticString = #fileID, line: UInt = #line) {
    guard condition() else {
        fatalError("fuzz invariant broken: \(message())", file: file, line: line)
    }
}
