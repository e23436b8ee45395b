import Synchronization
import Testing
@testable import TollgateGateway

/// Request ids: `req_` and 16 lowercase hex digits, never repeated within a process.
@Suite struct RequestIDTests {
    @Test(arguments: [(UInt64(0), "req_0000000000000000"), (0xAB, "req_00000000000000ab"),
                      (0x0123_4567_89AB_CDEF, "req_0123456789abcdef"), (UInt64.max, "req_ffffffffffffffff")])
    func theFormatIsSixteenLowercaseHexDigits(n: UInt64, id: String) {
        #expect(formatRequestID(n) == id)
        #expect(formatRequestID(n) == "req_" + String(repeating: "0", count: 16 - String(n, radix: 16).count) + String(n, radix: 16))
    }

    @Test func theMixIsSplitmix64sFinalizer() {
        // splitmix64 seeded with 0: its first output is the mix of the golden gamma.
        #expect(mixRequestID(0x9E37_79B9_7F4A_7C15) == 0xE220_A839_7B1D_CDAF)
        #expect(mixRequestID(0) == 0)
    }

    @Test func idsFromManyThreadsAreDistinctAndWellFormed() async {
        let ids = await withTaskGroup(of: [String].self) { group in
            for _ in 0..<8 { group.addTask { (0..<5_000).map { _ in makeRequestID() } } }
            return await group.reduce(into: []) { $0 += $1 }
        }
        #expect(Set(ids).count == ids.count)
        let hex = Set("0123456789abcdef".utf8)
        #expect(ids.allSatisfy { $0.utf8.count == 20 && $0.hasPrefix("req_") && $0.utf8.dropFirst(4).allSatisfy(hex.contains) })
    }
}
