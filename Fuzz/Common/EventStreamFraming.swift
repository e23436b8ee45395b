import TollgateWire

/// Writes AWS event-stream messages, so fuzz inputs get past the two CRCs to the header and
/// payload decoding behind them.
enum EventStreamFraming {
    static func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    /// One message: prelude, its CRC, `headers` (already encoded), `payload`, message CRC.
    static func frame(headers: [UInt8], payload: [UInt8]) -> [UInt8] {
        let total = UInt32(16 + headers.count + payload.count)
        var out = bigEndian(total) + bigEndian(UInt32(headers.count))
        out += bigEndian(CRC32.checksum(out))
        out += headers
        out += payload
        out += bigEndian(CRC32.checksum(out))
        return out
    }

    static func encode(_ name: String, _ value: AWSEventStream.HeaderValue) -> [UInt8] {
        var out: [UInt8] = [UInt8(name.utf8.count)] + Array(name.utf8)
        switch value {
        case .bool(let b): out.append(b ? 0 : 1)
        case .int8(let v): out += [2] + bigEndian(v)
        case .int16(let v): out += [3] + bigEndian(v)
        case .int32(let v): out += [4] + bigEndian(v)
        case .int64(let v): out += [5] + bigEndian(v)
        case .bytes(let v): out += [6] + bigEndian(UInt16(v.count)) + v
        case .string(let v): out += [7] + bigEndian(UInt16(v.utf8.count)) + Array(v.utf8)
        case .timestamp(let v): out += [8] + bigEndian(v)
        case .uuid(let v): out += [9] + v
        }
        return out
    }

    static func encode(headers: [String: AWSEventStream.HeaderValue]) -> [UInt8] {
        headers.sorted { $0.key < $1.key }.flatMap { encode($0.key, $0.value) }
    }

    /// Reads `[headers length u8][headers][payload length u16][payload]` records from the
    /// input and frames each one; a string header record starting with `"` is written as
    /// `:event-type` (and `:message-type: event`) with the rest as a JSON payload.
    static func frames(from input: inout FuzzInput) -> [UInt8] {
        var out: [UInt8] = []
        while input.rest.count > 0 {
            let headerCount = Int(input.byte())
            let headers = Array(input.rest.prefix(headerCount))
            for _ in 0..<headers.count { _ = input.byte() }
            let payloadCount = Int(input.byte()) << 8 | Int(input.byte())
            let payload = Array(input.rest.prefix(payloadCount))
            for _ in 0..<payload.count { _ = input.byte() }
            out += frame(headers: headers, payload: payload)
        }
        return out
    }
}
