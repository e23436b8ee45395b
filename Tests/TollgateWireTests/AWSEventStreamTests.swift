import Testing
import TollgateCore
@testable import TollgateWire

/// Builds `application/vnd.amazon.eventstream` messages for tests, with its own bitwise CRC-32
/// so the decoder's table-driven one is checked against an independent implementation.
enum EventStreamEncoder {
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc >> 1) ^ (crc & 1 == 0 ? 0 : 0xEDB8_8320) }
        }
        return ~crc
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    /// One message with string headers (type 7).
    static func message(headers: [(String, String)], payload: [UInt8]) -> [UInt8] {
        var headerBytes: [UInt8] = []
        for (name, value) in headers {
            headerBytes.append(UInt8(name.utf8.count))
            headerBytes += Array(name.utf8)
            headerBytes.append(7)
            headerBytes += [UInt8(value.utf8.count >> 8), UInt8(value.utf8.count & 0xFF)]
            headerBytes += Array(value.utf8)
        }
        let total = UInt32(16 + headerBytes.count + payload.count)
        var out = bigEndian(total) + bigEndian(UInt32(headerBytes.count))
        out += bigEndian(crc32(out))
        out += headerBytes + payload
        out += bigEndian(crc32(out))
        return out
    }

    static func event(_ type: String, _ payload: JSONValue) -> [UInt8] {
        message(headers: [(":event-type", type), (":content-type", "application/json"), (":message-type", "event")],
                payload: payload.serialized())
    }

    static func exception(_ type: String, _ payload: JSONValue) -> [UInt8] {
        message(headers: [(":exception-type", type), (":content-type", "application/json"), (":message-type", "exception")],
                payload: payload.serialized())
    }

    /// A stream fixture: a JSON list of `{"event": TYPE, "payload": {...}}`.
    static func stream(fixture path: String) throws -> [UInt8] {
        let events = try #require(try Fixture.json(path).arrayValue)
        return try events.flatMap { item in
            event(try #require(item["event"]?.stringValue), try #require(item["payload"]))
        }
    }
}

extension AWSEventStream.Decoder {
    /// Appends `bytes` and takes every message now complete.
    mutating func feed<Bytes: Sequence>(_ bytes: Bytes) throws(AWSEventStream.FramingError) -> [AWSEventStream.Message]
    where Bytes.Element == UInt8 {
        append(bytes)
        var messages: [AWSEventStream.Message] = []
        while let message = try next() { messages.append(message) }
        return messages
    }
}

/// Hex text (spaces ignored) as bytes.
func bytes(hex: String) -> [UInt8] {
    let digits = Array(hex.filter { !$0.isWhitespace })
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(digits[$0...$0 + 1]), radix: 16)! }
}

@Suite struct AWSEventStreamTests {
    @Test func crc32CheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(EventStreamEncoder.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
        let text = Array("The quick brown fox jumps over the lazy dog".utf8)
        #expect(CRC32.checksum(text) == 0x414F_A339)
        #expect(CRC32.checksum(text.dropFirst(9), seed: CRC32.checksum(text.prefix(9))) == 0x414F_A339)
    }

    // Vectors from botocore's tests/unit/test_eventstream.py (the bytes, written here as hex).

    @Test func emptyMessage() throws {
        var decoder = AWSEventStream.Decoder()
        let messages = try decoder.feed(bytes(hex: "00000010 00000000 05c248eb 7d98c8ff"))
        #expect(messages == [AWSEventStream.Message(headers: [:], payload: [])])
    }

    @Test func stringHeaderAndPayload() throws {
        let frame = bytes(hex: "0000003d 00000020 07fd8396 0c") + Array("content-type".utf8) + [0x07, 0x00, 0x10]
            + Array("application/json{'foo':'bar'}".utf8) + bytes(hex: "8d9c08b1")
        var decoder = AWSEventStream.Decoder()
        let messages = try decoder.feed(frame)
        #expect(messages.count == 1)
        #expect(messages.first?.string("content-type") == "application/json")
        #expect(messages.first?.payload == Array("{'foo':'bar'}".utf8))
    }

    @Test func everyHeaderType() throws {
        let frame = bytes(hex: """
            00000062 00000052 03b5cb9c
            0130 00  0131 01  0132 02 02  0133 03 0003  0134 04 00000004  0135 05 0000000000000005
            0136 06 0005 6279746573  0137 07 0004 75746638  0138 08 0000000000000008
            0139 09 30313233343536373839616263646566
            63353671
            """)
        var decoder = AWSEventStream.Decoder()
        let message = try #require(try decoder.feed(frame).first)
        #expect(message.headers == [
            "0": .bool(true), "1": .bool(false), "2": .int8(2), "3": .int16(3), "4": .int32(4), "5": .int64(5),
            "6": .bytes(Array("bytes".utf8)), "7": .string("utf8"), "8": .timestamp(8),
            "9": .uuid(Array("0123456789abcdef".utf8)),
        ])
    }

    @Test func errorMessageHeaders() throws {
        let frame = bytes(hex: "00000052 00000042 bf23637e") + [0x0D] + Array(":message-type".utf8) + [0x07, 0x00, 0x05]
            + Array("error".utf8) + [0x0B] + Array(":error-code".utf8) + [0x07, 0x00, 0x04] + Array("code".utf8)
            + [0x0E] + Array(":error-message".utf8) + [0x07, 0x00, 0x07] + Array("message".utf8) + bytes(hex: "6b6cea3d")
        var decoder = AWSEventStream.Decoder()
        let message = try #require(try decoder.feed(frame).first)
        #expect(message.string(":message-type") == "error")
        #expect(message.string(":error-code") == "code")
        #expect(message.string(":error-message") == "message")
    }

    @Test(arguments: [
        // Payload changed after the CRC was computed.
        bytes(hex: "0000001d 00000000 fd528c5a") + Array("{'foo':'bar'".utf8) + bytes(hex: "8dc36539 36"),
        // Total length changed: the prelude CRC no longer matches.
        bytes(hex: "0100001d 00000000 fd528c5a") + Array("{'foo':'bar'}".utf8) + bytes(hex: "c3653936"),
        // A header name changed: the message CRC no longer matches.
        bytes(hex: "0000003d 00000020 07fd8396 0c") + Array("content+type".utf8) + [0x07, 0x00, 0x10]
            + Array("application/json{'foo':'bar'}".utf8) + bytes(hex: "8d9c08b1"),
        // Well-formed checksums, but a headers length no message can hold.
        bytes(hex: "0000003d ff000102 1583f5c2 0c") + Array("content-type".utf8) + [0x07, 0x00, 0x10]
            + Array("application/json{'foo':'bar'}".utf8) + bytes(hex: "2f377f5d"),
        // A repeated header name.
        bytes(hex: "00000024 00000014 4bb982d0 0474657374 0461736466 0474657374 0461736466 f3f47563"),
    ])
    func corruptFramesThrow(frame: [UInt8]) {
        var decoder = AWSEventStream.Decoder()
        #expect(throws: AWSEventStream.FramingError.self) { try decoder.feed(frame) }
        // The decoder stays failed.
        #expect(throws: AWSEventStream.FramingError.self) { try decoder.feed(EventStreamEncoder.event("x", [:])) }
    }

    @Test func absurdLengthFailsWithoutWaitingForTheBytes() {
        for total: UInt32 in [17 << 20, 0xFFFF_FFFF, 15] {
            var prelude = EventStreamEncoder.bigEndian(total) + EventStreamEncoder.bigEndian(0)
            prelude += EventStreamEncoder.bigEndian(EventStreamEncoder.crc32(prelude))
            var decoder = AWSEventStream.Decoder()
            #expect(throws: AWSEventStream.FramingError.self) { try decoder.feed(prelude) }
        }
    }

    @Test(arguments: replayChunkSizes)
    func messagesArriveWholeAtAnySplit(chunkSize: Int) throws {
        let frames = (0..<5).flatMap { EventStreamEncoder.event("e\($0)", ["n": .int($0), "pad": .string(String(repeating: "x", count: $0 * 40))]) }
        var decoder = AWSEventStream.Decoder()
        var messages: [AWSEventStream.Message] = []
        let size = chunkSize == 0 ? frames.count : chunkSize
        for start in stride(from: 0, to: frames.count, by: size) {
            messages += try decoder.feed(frames[start..<min(start + size, frames.count)])
        }
        #expect(messages.map { $0.string(":event-type") } == ["e0", "e1", "e2", "e3", "e4"])
        #expect(try messages.map { try JSONValue.parse($0.payload)["n"]?.intValue } == [0, 1, 2, 3, 4])
        #expect(decoder.bufferedCount == 0)
    }
}
