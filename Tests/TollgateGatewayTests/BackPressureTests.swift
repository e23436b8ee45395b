import Foundation
import Testing
import TollgateCore
import TollgateTestSupport

/// A client that reads slowly holds the upstream back: tollgate's unsent output for one
/// connection stays near its high-water mark (256 KiB) however long and fast the stream is.
@Suite struct BackPressureTests {
    static let piece = String(repeating: "x", count: 16 << 10)
    static let pieces = 512  // 8 MiB of text

    /// An upstream that sends the whole stream as fast as its socket takes it.
    static func firehose() throws -> FakeUpstream {
        try FakeUpstream { _, conn in
            try conn.startStream()
            var batch = ""
            for i in 0..<pieces {
                batch += Canned.chunk(piece)
                if i % 16 == 15 {
                    try conn.chunk(batch)
                    batch = ""
                }
            }
            try conn.chunk(batch + Canned.finish + Canned.done)
            try conn.endChunks()
        }
    }

    @Test func aSlowReaderKeepsTheBufferBoundedAndGetsEveryByte() throws {
        let upstream = try Self.firehose()
        let gate = try GatewayHarness(config: GatewayHarness.config([("a", upstream.baseURL, ["m"])]))
        let client = try gate.client(timeout: 30)
        try client.send(postRequest("/v1/chat/completions", json: chatBody(model: "m", stream: true)))
        let head = try client.readHead()
        #expect(head.status == 200)
        gate.server.resetPeakBufferedBytes()
        // Read nothing for a while: the kernel's buffers fill, then tollgate's would.
        Thread.sleep(forTimeInterval: 1.5)
        let peakWhileStalled = gate.server.peakBufferedBytes
        #expect(peakWhileStalled < 512 << 10, "buffered \(peakWhileStalled) bytes for one slow client")
        // Then drain: every byte arrives, and the stream ends properly.
        var pieces = 0
        var sawDone = false
        var pending: [UInt8] = []
        while let chunk = try client.readChunk() {
            pending += chunk
            while let end = pending.firstRange(of: Array("\n\n".utf8)) {
                let event = String(decoding: pending[..<end.lowerBound], as: UTF8.self)
                pending.removeSubrange(..<end.upperBound)
                if event == "data: [DONE]" { sawDone = true }
                if event.contains(Self.piece) { pieces += 1 }
            }
        }
        #expect(pieces == Self.pieces)
        #expect(sawDone)
        #expect(gate.server.peakBufferedBytes < 512 << 10, "buffered \(gate.server.peakBufferedBytes) bytes")
        let rows = try gate.ledgerRows(atLeast: 1)
        #expect(rows.first?.outcome == .ok)
    }
}
