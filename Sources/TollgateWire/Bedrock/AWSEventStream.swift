/// AWS's binary event-stream framing (`application/vnd.amazon.eventstream`), used by Bedrock's
/// ConverseStream: a sequence of self-delimiting messages, each checked by two CRC-32s.
/// Reference: botocore `eventstream.py`; AWS "Event stream encoding" (wire-formats.md §5.5).
///
/// Message layout, integers big-endian:
/// `total_length u32 | headers_length u32 | prelude_crc u32 | headers | payload | message_crc u32`.
/// Each header: `name_length u8 | name | type u8 | value`.
public enum AWSEventStream {
    /// Prelude (two lengths and their CRC) plus the trailing message CRC.
    static let overhead = 16
    static let preludeLength = 12
    /// Largest message accepted; botocore allows 24 MiB payloads, Converse events are a few KiB.
    public static let maxMessageLength = 16 << 20
    /// botocore's limit for the headers section.
    public static let maxHeadersLength = 128 << 10

    /// One typed header value.
    public enum HeaderValue: Sendable, Equatable {
        case bool(Bool)
        case int8(Int8)
        case int16(Int16)
        case int32(Int32)
        case int64(Int64)
        case bytes([UInt8])
        case string(String)
        /// Milliseconds since the Unix epoch.
        case timestamp(Int64)
        case uuid([UInt8])
    }

    /// One decoded message: its headers by name and its payload bytes.
    public struct Message: Sendable, Equatable {
        public var headers: [String: HeaderValue]
        public var payload: [UInt8]

        public init(headers: [String: HeaderValue], payload: [UInt8]) {
            self.headers = headers
            self.payload = payload
        }

        /// The value of a string header (`:message-type`, `:event-type`, ...).
        public func string(_ name: String) -> String? {
            if case .string(let value) = headers[name] { return value }
            return nil
        }
    }

    /// Why the byte stream is not valid event-stream framing. After one, the stream is unusable.
    public struct FramingError: Error, Sendable, Equatable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// Incremental decoder: `append` bytes in any split, then take each complete message with
    /// `next()` until it returns nil.
    public struct Decoder: Sendable {
        private var buffer: [UInt8] = []
        /// Start of the first unconsumed byte in `buffer`.
        private var start = 0
        private var failure: FramingError?

        public init() {}

        /// Bytes received that do not yet form a whole message.
        public var bufferedCount: Int { buffer.count - start }

        public mutating func append<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
            guard failure == nil else { return }
            buffer.append(contentsOf: bytes)
        }

        /// The next complete message, or nil until more bytes arrive. After an error every call
        /// throws it again.
        public mutating func next() throws(FramingError) -> Message? {
            if let failure { throw failure }
            do {
                guard let message = try nextMessage() else {
                    compact()
                    return nil
                }
                return message
            } catch {
                failure = error
                buffer = []
                start = 0
                throw error
            }
        }

        private mutating func nextMessage() throws(FramingError) -> Message? {
            let available = buffer.count - start
            guard available >= AWSEventStream.preludeLength else { return nil }
            let totalLength = Int(readUInt32(at: start))
            let headersLength = Int(readUInt32(at: start + 4))
            let preludeCRC = readUInt32(at: start + 8)
            // The prelude CRC comes first: a corrupt length must not make us wait for bytes forever.
            let computedPrelude = CRC32.checksum(buffer[start..<start + 8])
            guard computedPrelude == preludeCRC else {
                throw FramingError(message: "event-stream prelude checksum mismatch (expected \(hex(preludeCRC)), computed \(hex(computedPrelude)))")
            }
            guard totalLength >= AWSEventStream.overhead, totalLength <= AWSEventStream.maxMessageLength else {
                throw FramingError(message: "event-stream message length \(totalLength) is outside 16...\(AWSEventStream.maxMessageLength)")
            }
            guard headersLength <= AWSEventStream.maxHeadersLength,
                  headersLength <= totalLength - AWSEventStream.overhead
            else {
                throw FramingError(message: "event-stream headers length \(headersLength) does not fit a \(totalLength)-byte message")
            }
            guard available >= totalLength else { return nil }

            let end = start + totalLength
            let messageCRC = readUInt32(at: end - 4)
            let computed = CRC32.checksum(buffer[start..<end - 4])
            guard computed == messageCRC else {
                throw FramingError(message: "event-stream message checksum mismatch (expected \(hex(messageCRC)), computed \(hex(computed)))")
            }
            let headersStart = start + AWSEventStream.preludeLength
            let payloadStart = headersStart + headersLength
            let headers = try AWSEventStream.parseHeaders(buffer[headersStart..<payloadStart])
            let payload = Array(buffer[payloadStart..<end - 4])
            start = end
            return Message(headers: headers, payload: payload)
        }

        private func readUInt32(at offset: Int) -> UInt32 {
            UInt32(buffer[offset]) << 24 | UInt32(buffer[offset + 1]) << 16 | UInt32(buffer[offset + 2]) << 8
                | UInt32(buffer[offset + 3])
        }

        /// Drops consumed bytes once they are the larger part of the buffer.
        private mutating func compact() {
            if start == buffer.count {
                buffer.removeAll(keepingCapacity: buffer.count <= 1 << 20)
                start = 0
            } else if start > 4096, start > buffer.count / 2 {
                buffer.removeSubrange(0..<start)
                start = 0
            }
        }

        private func hex(_ value: UInt32) -> String {
            let digits = String(value, radix: 16)
            return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
        }
    }

    /// Parses the headers section of one message. Names must not repeat.
    static func parseHeaders(_ bytes: ArraySlice<UInt8>) throws(FramingError) -> [String: HeaderValue] {
        var headers: [String: HeaderValue] = [:]
        var i = bytes.startIndex
        let end = bytes.endIndex

        func take(_ count: Int) throws(FramingError) -> ArraySlice<UInt8> {
            guard count >= 0, end - i >= count else { throw FramingError(message: "event-stream header is truncated") }
            defer { i += count }
            return bytes[i..<i + count]
        }
        func integer(_ count: Int) throws(FramingError) -> UInt64 {
            try take(count).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        }

        while i < end {
            let nameLength = Int(try integer(1))
            let name = String(decoding: try take(nameLength), as: UTF8.self)
            let type = try integer(1)
            let value: HeaderValue
            switch type {
            case 0: value = .bool(true)
            case 1: value = .bool(false)
            case 2: value = .int8(Int8(truncatingIfNeeded: try integer(1)))
            case 3: value = .int16(Int16(truncatingIfNeeded: try integer(2)))
            case 4: value = .int32(Int32(truncatingIfNeeded: try integer(4)))
            case 5: value = .int64(Int64(truncatingIfNeeded: try integer(8)))
            case 6: value = .bytes(Array(try take(Int(try integer(2)))))
            case 7: value = .string(String(decoding: try take(Int(try integer(2))), as: UTF8.self))
            case 8: value = .timestamp(Int64(truncatingIfNeeded: try integer(8)))
            case 9: value = .uuid(Array(try take(16)))
            default: throw FramingError(message: "event-stream header \"\(name)\" has unknown type \(type)")
            }
            guard headers[name] == nil else { throw FramingError(message: "event-stream header \"\(name)\" is repeated") }
            headers[name] = value
        }
        return headers
    }
}

/// CRC-32 as used by zlib, gzip and AWS event streams (IEEE 802.3, reflected polynomial 0xEDB88320).
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { (n: UInt32) -> UInt32 in
        var c = n
        for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// The CRC of `bytes`; pass a previous result as `seed` to continue over more bytes.
    public static func checksum<Bytes: Sequence>(_ bytes: Bytes, seed: UInt32 = 0) -> UInt32 where Bytes.Element == UInt8 {
        var crc = ~seed
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return ~crc
    }
}
