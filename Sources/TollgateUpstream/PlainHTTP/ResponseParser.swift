import TollgateCore

/// An incremental HTTP/1.1 response reader: the head (informational 1xx heads skipped), then
/// the body framed by `Content-Length`, chunked transfer coding, or the end of the connection.
/// Body bytes are handed on as they arrive, without copying, and chunked framing is removed.
struct ResponseParser {
    enum Failure: Error, Equatable {
        /// Not an HTTP/1.x response, or a head or chunk line that cannot be read.
        case malformed(String)
    }

    /// What the receiver did with a piece of body: took it, wants it again later (paused), or
    /// wants nothing more.
    enum Taken { case taken, pause, stop }

    /// Why `feed` returned.
    enum Stop: Equatable {
        /// Every byte given was read.
        case consumedAll
        /// The whole response was read; `consumed` bytes belonged to it.
        case complete
        /// The receiver paused: the bytes from `consumed` on must be given again.
        case paused
        /// The receiver wants nothing more.
        case stopped
    }

    private enum State {
        case head, length, chunkSize, chunkData, chunkDataEnd, trailers, untilClose, done
    }

    private var state = State.head
    /// Head bytes (or a chunk-size or trailer line) split across reads.
    private var partial: [UInt8] = []
    /// Body bytes still due: of the `Content-Length`, or of the current chunk.
    private var remaining = 0
    private(set) var status = 0
    private(set) var headers = HTTPHeaders()
    /// Whether the connection can carry another request after this response.
    private(set) var keepAlive = true
    /// Whether any byte of a response arrived.
    private(set) var receivedAny = false

    static let maxHeadBytes = 64 << 10
    static let maxLineBytes = 4 << 10

    var isComplete: Bool { state == .done }
    var headRead: Bool { state != .head }
    /// The body ends when the connection does (no length, not chunked).
    var endsAtClose: Bool { state == .untilClose }
    /// Body bytes still expected when the framing says how many (for error messages).
    var bytesMissing: Int? { state == .length ? remaining : nil }

    /// Reads `bytes`; calls `head` once the head is read and `body` for each piece of body.
    /// Returns how many bytes were read and why it stopped.
    mutating func feed(_ bytes: UnsafeRawBufferPointer, head: (Int, HTTPHeaders) -> Bool,
                       body: (UnsafeRawBufferPointer) -> Taken) throws(Failure) -> (consumed: Int, stop: Stop) {
        var i = 0
        let n = bytes.count
        if n > 0 { receivedAny = true }
        while i < n {
            switch state {
            case .head:
                guard let end = try readHead(bytes, from: i) else { return (n, .consumedAll) }
                i = end
                if state == .head { continue }  // a 1xx head was skipped
                if !head(status, headers) { return (i, .stopped) }
            case .length, .untilClose, .chunkData:
                let count = state == .untilClose ? n - i : min(remaining, n - i)
                switch body(UnsafeRawBufferPointer(rebasing: bytes[i..<(i + count)])) {
                case .taken: break
                case .pause: return (i, .paused)
                case .stop: return (i, .stopped)
                }
                i += count
                guard state != .untilClose else { continue }
                remaining -= count
                if remaining == 0 { state = state == .length ? .done : .chunkDataEnd }
            case .chunkSize, .chunkDataEnd, .trailers:
                guard let (line, next) = try readLine(bytes, from: i) else { return (n, .consumedAll) }
                i = next
                try endOfLine(line)
            case .done:
                return (i, .complete)
            }
        }
        return (n, state == .done ? .complete : .consumedAll)
    }

    /// The connection ended: whether that completes the response (a body framed by the close).
    mutating func finishAtClose() -> Bool {
        guard state == .untilClose else { return state == .done }
        state = .done
        return true
    }

    // MARK: the head

    /// Reads head bytes from `start`; returns where the head ended, or nil when more is needed.
    private mutating func readHead(_ bytes: UnsafeRawBufferPointer, from start: Int) throws(Failure) -> Int? {
        let n = bytes.count
        if partial.isEmpty {
            if let end = Self.headEnd(bytes, from: start, scanFrom: start) {
                try parseHead(UnsafeRawBufferPointer(rebasing: bytes[start..<end]))
                return end
            }
            guard n - start <= Self.maxHeadBytes else { throw .malformed("The upstream's response head is too large.") }
            partial.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<n]))
            return nil
        }
        let before = partial.count
        let take = min(n - start, Self.maxHeadBytes + 4 - before)
        partial.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<(start + take)]))
        let found = partial.withUnsafeBytes { Self.headEnd($0, from: 0, scanFrom: max(0, before - 3)) }
        guard let end = found else {
            guard partial.count <= Self.maxHeadBytes else { throw .malformed("The upstream's response head is too large.") }
            return nil
        }
        let head = partial
        partial.removeAll(keepingCapacity: true)
        let parsed: Result<Void, Failure> = head.withUnsafeBytes { raw in
            do throws(Failure) {
                try parseHead(UnsafeRawBufferPointer(rebasing: raw[0..<end]))
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try parsed.get()
        return start + (end - before)
    }

    /// The index just past the blank line ending a head (`\r\n\r\n` or `\n\n`), searching from `scanFrom`.
    private static func headEnd(_ bytes: UnsafeRawBufferPointer, from start: Int, scanFrom: Int) -> Int? {
        var i = scanFrom
        let n = bytes.count
        while i < n {
            if bytes[i] == 0x0A {
                if i + 1 < n, bytes[i + 1] == 0x0A { return i + 2 }
                if i + 2 < n, bytes[i + 1] == 0x0D, bytes[i + 2] == 0x0A { return i + 3 }
            }
            i += 1
        }
        return nil
    }

    private mutating func parseHead(_ head: UnsafeRawBufferPointer) throws(Failure) {
        var lines = Self.lines(head)
        guard let statusLine = lines.first else { throw .malformed("The upstream sent an empty response head.") }
        lines.removeFirst()
        // "HTTP/1.1 200 OK"
        let s = UnsafeRawBufferPointer(rebasing: head[statusLine])
        guard s.count >= 12, s[0] == 0x48, s[1] == 0x54, s[2] == 0x54, s[3] == 0x50, s[4] == 0x2F, s[5] == 0x31,
              s[6] == 0x2E, s[8] == 0x20,
              let code = Self.threeDigits(s[9], s[10], s[11]), s.count == 12 || s[12] == 0x20
        else { throw .malformed("The upstream did not answer with an HTTP/1.x status line.") }
        let minor = s[7]
        var parsed = HTTPHeaders()
        // The framing headers, picked out as the lines go by (no lookups afterwards).
        var connection: [String] = []
        var transferEncoding: String?
        var contentLengths: [String] = []
        for line in lines {
            let bytes = UnsafeRawBufferPointer(rebasing: head[line])
            guard let colon = bytes.firstIndex(of: 0x3A), colon > 0 else {
                if let first = bytes.first, first == 0x20 || first == 0x09 { continue }  // obsolete line folding
                throw .malformed("The upstream sent a header line without a name.")
            }
            var valueStart = colon + 1
            var valueEnd = bytes.count
            while valueStart < valueEnd, bytes[valueStart] == 0x20 || bytes[valueStart] == 0x09 { valueStart += 1 }
            while valueEnd > valueStart, bytes[valueEnd - 1] == 0x20 || bytes[valueEnd - 1] == 0x09 { valueEnd -= 1 }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[0..<colon]), as: UTF8.self)
            let value = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[valueStart..<valueEnd]), as: UTF8.self)
            switch colon {
            case 10 where name.equalsIgnoringASCIICase("connection"): connection.append(value)
            case 14 where name.equalsIgnoringASCIICase("content-length"): contentLengths.append(value)
            case 17 where name.equalsIgnoringASCIICase("transfer-encoding"):
                transferEncoding = transferEncoding.map { $0 + ", " + value } ?? value
            default: break
            }
            parsed.add(name, value)
        }
        if code < 200 {
            guard code != 101 else { throw .malformed("The upstream switched protocols.") }
            return  // 100 Continue, 103 Early Hints: the real head follows
        }
        status = code
        headers = parsed
        func has(_ token: String) -> Bool {
            connection.contains { HTTPHeaders.value($0, hasToken: token) }
        }
        keepAlive = minor == 0x31 ? !has("close") : has("keep-alive")
        if code == 204 || code == 304 {
            state = .done
        } else if let coding = transferEncoding {
            if coding.split(separator: ",").last?.trimmingWhitespaceASCII().equalsIgnoringASCIICase("chunked") == true {
                state = .chunkSize
            } else {
                state = .untilClose
                keepAlive = false
            }
        } else if let lengthText = contentLengths.first {
            guard contentLengths.allSatisfy({ $0 == lengthText }), let length = Int(lengthText), length >= 0,
                  lengthText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
            else { throw .malformed("The upstream sent an invalid Content-Length.") }
            remaining = length
            state = length == 0 ? .done : .length
        } else {
            state = .untilClose
            keepAlive = false
        }
    }

    /// The ranges of the head's lines (without their line ends), up to the blank line.
    private static func lines(_ head: UnsafeRawBufferPointer) -> [Range<Int>] {
        var result: [Range<Int>] = []
        var start = 0
        for i in 0..<head.count where head[i] == 0x0A {
            var end = i
            if end > start, head[end - 1] == 0x0D { end -= 1 }
            if end == start { break }
            result.append(start..<end)
            start = i + 1
        }
        return result
    }

    private static func threeDigits(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> Int? {
        for d in [a, b, c] where d < 0x30 || d > 0x39 { return nil }
        return Int(a - 0x30) * 100 + Int(b - 0x30) * 10 + Int(c - 0x30)
    }

    // MARK: chunked framing

    /// Reads up to a line end from `start`; returns the line (in `partial` when it was split)
    /// and where it ended, or nil when more is needed.
    private mutating func readLine(_ bytes: UnsafeRawBufferPointer, from start: Int) throws(Failure) -> ([UInt8], Int)? {
        var i = start
        while i < bytes.count, bytes[i] != 0x0A { i += 1 }
        guard partial.count + (i - start) <= Self.maxLineBytes else {
            throw .malformed("The upstream sent a chunk line that is too long.")
        }
        partial.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<i]))
        guard i < bytes.count else { return nil }
        var line = partial
        partial.removeAll(keepingCapacity: true)
        if line.last == 0x0D { line.removeLast() }
        return (line, i + 1)
    }

    private mutating func endOfLine(_ line: [UInt8]) throws(Failure) {
        switch state {
        case .chunkSize:
            var size = 0
            var digits = 0
            for byte in line {
                let value: Int
                switch byte {
                case 0x30...0x39: value = Int(byte - 0x30)
                case 0x41...0x46: value = Int(byte - 0x41 + 10)
                case 0x61...0x66: value = Int(byte - 0x61 + 10)
                case 0x3B, 0x20, 0x09: value = -1  // chunk extensions follow
                default: throw .malformed("The upstream sent an invalid chunk size.")
                }
                if value < 0 { break }
                digits += 1
                guard digits <= 15 else { throw .malformed("The upstream sent an invalid chunk size.") }
                size = size * 16 + value
            }
            guard digits > 0 else { throw .malformed("The upstream sent an invalid chunk size.") }
            remaining = size
            state = size == 0 ? .trailers : .chunkData
        case .chunkDataEnd:
            guard line.isEmpty else { throw .malformed("The upstream's chunk did not end where its size said.") }
            state = .chunkSize
        case .trailers:
            if line.isEmpty { state = .done }
        default:
            break
        }
    }
}
