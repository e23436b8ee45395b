import TollgateCore

/// Why bytes from a client are not an acceptable HTTP/1.1 request. Each maps to a status.
public enum HTTPParseError: Error, Sendable, Equatable {
    case badRequest(String)
    case headersTooLarge(limit: Int)
    case bodyTooLarge(limit: Int)
    case unsupportedTransferCoding(String)
    case versionNotSupported(String)

    public var gatewayError: GatewayError {
        switch self {
        case .badRequest(let why): .invalidRequest("Malformed HTTP request: \(why).")
        case .headersTooLarge(let limit): .headersTooLarge("The request header block exceeds \(limit) bytes.")
        case .bodyTooLarge(let limit): .payloadTooLarge("The request body exceeds the limit of \(limit) bytes.")
        case .unsupportedTransferCoding(let coding):
            .notImplemented("Transfer-Encoding \"\(coding)\" is not supported; send chunked or a Content-Length.")
        case .versionNotSupported(let version):
            GatewayError(status: 505, type: "invalid_request_error", code: "http_version_not_supported",
                         message: "HTTP version \(version) is not supported; use HTTP/1.1.")
        }
    }
}

/// Incremental HTTP/1.1 request parser (RFC 9112). Feed it bytes in any split with `append`,
/// then call `next()` until it returns nil. It buffers one request's body whole (bounded by
/// `maxBodyBytes`), because every body tollgate accepts is a JSON document it must read whole.
public struct HTTPParser: Sendable {
    public var maxHeaderBytes: Int
    public var maxBodyBytes: Int
    /// Longest chunk-size line accepted in a chunked body.
    static let maxChunkLineBytes = 1024

    private enum State: Sendable {
        case head
        case fixedBody(length: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case failed(HTTPParseError)
    }

    private var buffer: [UInt8] = []
    private var position = 0
    private var scanPosition = 0
    private var lineStart = 0
    private var state: State = .head
    private var pending: HTTPRequest?
    private var body: [UInt8] = []
    private var trailerBytes = 0
    /// Set when a request head with `Expect: 100-continue` is complete and its body has not arrived.
    public private(set) var expectsContinue = false

    public init(maxHeaderBytes: Int = 64 << 10, maxBodyBytes: Int = 32 << 20) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
    }

    /// True when some bytes of a request that is not complete have been received.
    public var hasPartialRequest: Bool {
        if case .head = state { return buffer.count > position }
        return true
    }

    /// True while the head is complete and the body is being received.
    public var isReadingBody: Bool {
        switch state {
        case .head, .failed: false
        default: true
        }
    }

    /// Bytes the body in progress is known to need: its declared length, or for a chunked body
    /// what has arrived plus the rest of the chunk being read (0 between requests).
    public var bodyClaim: Int {
        switch state {
        case .fixedBody(let length): length
        case .chunkData(let remaining): body.count + remaining
        case .chunkSize, .chunkDataEnd, .trailers: body.count
        case .head, .failed: 0
        }
    }

    /// Clears the 100-continue flag once the interim response has been sent.
    public mutating func continueSent() { expectsContinue = false }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if position > 0, position == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            scanPosition -= position
            lineStart -= position
            position = 0
        } else if position > 65536, position * 2 > buffer.count {
            buffer.removeFirst(position)
            scanPosition -= position
            lineStart -= position
            position = 0
        }
        buffer.append(contentsOf: bytes)
    }

    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// The next complete request, nil when more bytes are needed. After an error the parser
    /// stays failed: the connection must be closed once the error response is sent.
    public mutating func next() throws(HTTPParseError) -> HTTPRequest? {
        while true {
            switch state {
            case .failed(let error):
                throw error
            case .head:
                guard let headEnd = try findHeadEnd() else { return nil }
                let request: HTTPRequest
                do throws(HTTPParseError) {
                    request = try parseHead(upTo: headEnd)
                } catch {
                    throw fail(error)
                }
                position = headEnd
                try beginBody(for: request)
            case .fixedBody(let length):
                guard buffer.count - position >= length else { return nil }
                var request = pending!
                request.body = Array(buffer[position..<position + length])
                position += length
                return finish(request)
            case .chunkSize:
                guard let lineEnd = findLineEnd(from: position, limit: Self.maxChunkLineBytes) else {
                    if buffer.count - position > Self.maxChunkLineBytes {
                        throw fail(.badRequest("chunk size line too long"))
                    }
                    return nil
                }
                let line = trimmedLine(position, lineEnd.contentEnd)
                position = lineEnd.next
                let size: Int
                do throws(HTTPParseError) {
                    size = try parseChunkSize(line)
                } catch {
                    throw fail(error)
                }
                if size == 0 {
                    state = .trailers
                    trailerBytes = 0
                } else {
                    guard body.count + size <= maxBodyBytes else { throw fail(.bodyTooLarge(limit: maxBodyBytes)) }
                    state = .chunkData(remaining: size)
                }
            case .chunkData(let remaining):
                let available = buffer.count - position
                guard available > 0 else { return nil }
                let take = min(available, remaining)
                body.append(contentsOf: buffer[position..<position + take])
                position += take
                state = take == remaining ? .chunkDataEnd : .chunkData(remaining: remaining - take)
            case .chunkDataEnd:
                guard buffer.count - position >= 1 else { return nil }
                if buffer[position] == 0x0A {
                    position += 1
                } else if buffer[position] == 0x0D {
                    guard buffer.count - position >= 2 else { return nil }
                    guard buffer[position + 1] == 0x0A else { throw fail(.badRequest("chunk data not followed by CRLF")) }
                    position += 2
                } else {
                    throw fail(.badRequest("chunk data longer than its declared size"))
                }
                state = .chunkSize
            case .trailers:
                guard let lineEnd = findLineEnd(from: position, limit: maxHeaderBytes) else {
                    if trailerBytes + buffer.count - position > maxHeaderBytes {
                        throw fail(.headersTooLarge(limit: maxHeaderBytes))
                    }
                    return nil
                }
                trailerBytes += lineEnd.next - position
                if trailerBytes > maxHeaderBytes { throw fail(.headersTooLarge(limit: maxHeaderBytes)) }
                let empty = lineEnd.contentEnd == position
                position = lineEnd.next
                if empty {
                    var request = pending!
                    request.body = body
                    body = []
                    return finish(request)
                }
            }
        }
    }

    // MARK: - head

    private mutating func findHeadEnd() throws(HTTPParseError) -> Int? {
        var i = max(scanPosition, position)
        if lineStart < position { lineStart = position }
        while i < buffer.count {
            if buffer[i] == 0x0A {
                var contentEnd = i
                if contentEnd > lineStart, buffer[contentEnd - 1] == 0x0D { contentEnd -= 1 }
                if contentEnd == lineStart {
                    if lineStart == position {
                        // Empty lines before a request line are ignored (RFC 9112 §2.2).
                        position = i + 1
                        lineStart = i + 1
                        i += 1
                        continue
                    }
                    scanPosition = i + 1
                    lineStart = i + 1
                    return i + 1
                }
                lineStart = i + 1
            }
            i += 1
            if i - position > maxHeaderBytes { throw fail(.headersTooLarge(limit: maxHeaderBytes)) }
        }
        scanPosition = i
        if buffer.count - position > maxHeaderBytes { throw fail(.headersTooLarge(limit: maxHeaderBytes)) }
        return nil
    }

    private func parseHead(upTo end: Int) throws(HTTPParseError) -> HTTPRequest {
        var lines: [ArraySlice<UInt8>] = []
        lines.reserveCapacity(24)
        var start = position
        var i = position
        while i < end {
            if buffer[i] == 0x0A {
                var contentEnd = i
                if contentEnd > start, buffer[contentEnd - 1] == 0x0D { contentEnd -= 1 }
                if contentEnd > start { lines.append(buffer[start..<contentEnd]) }
                start = i + 1
            }
            i += 1
        }
        guard let requestLine = lines.first else { throw .badRequest("missing request line") }
        let parts = requestLine.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw .badRequest("the request line must be METHOD SP TARGET SP HTTP-VERSION")
        }
        guard parts[0].allSatisfy(Self.isTokenByte) else { throw .badRequest("invalid method") }
        guard parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { throw .badRequest("invalid request target") }
        let versionText = String(decoding: parts[2], as: UTF8.self)
        let version: HTTPVersion
        switch versionText {
        case "HTTP/1.1": version = .http11
        case "HTTP/1.0": version = .http10
        default:
            if versionText.hasPrefix("HTTP/"), versionText.count == 8 { throw .versionNotSupported(versionText) }
            throw .badRequest("invalid HTTP version")
        }
        var headers = HTTPHeaders()
        headers.reserveCapacity(lines.count - 1)
        for line in lines.dropFirst() {
            if line.first == 0x20 || line.first == 0x09 { throw .badRequest("obsolete header line folding") }
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { throw .badRequest("header line without a colon") }
            let name = line[line.startIndex..<colon]
            guard !name.isEmpty, name.allSatisfy(Self.isTokenByte) else { throw .badRequest("invalid header name") }
            var value = line[(colon + 1)...]
            while let f = value.first, f == 0x20 || f == 0x09 { value = value.dropFirst() }
            while let l = value.last, l == 0x20 || l == 0x09 { value = value.dropLast() }
            guard value.allSatisfy({ $0 >= 0x20 || $0 == 0x09 }), !value.contains(0x7F) else {
                throw .badRequest("invalid character in header value")
            }
            headers.add(String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
        }
        if version == .http11, headers.count(of: "Host") != 1 {
            throw .badRequest("HTTP/1.1 requires exactly one Host header")
        }
        let method = String(decoding: parts[0], as: UTF8.self)
        return HTTPRequest(method: method, target: String(decoding: parts[1], as: UTF8.self), version: version,
                           headers: headers)
    }

    private mutating func beginBody(for request: HTTPRequest) throws(HTTPParseError) {
        pending = request
        let codingFields = request.headers.count(of: "Transfer-Encoding")
        let lengthFields = request.headers.count(of: "Content-Length")
        // The common case, one Content-Length of plain digits, read without building lists.
        if codingFields == 0, lengthFields == 1, let text = request.headers["Content-Length"], !text.isEmpty,
           text.utf8.count <= 18, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let length = Int(text) {
            guard length <= maxBodyBytes else { throw fail(.bodyTooLarge(limit: maxBodyBytes)) }
            state = .fixedBody(length: length)
            expectsContinue = length > 0 && request.headers.hasToken("100-continue", in: "Expect")
            return
        }
        let codings = request.headers.values("Transfer-Encoding")
        let lengths = request.headers.values("Content-Length")
        if !codings.isEmpty {
            guard lengths.isEmpty else { throw fail(.badRequest("both Transfer-Encoding and Content-Length")) }
            let list = codings.flatMap { $0.split(separator: ",").map { $0.trimmingWhitespaceASCII().lowercased() } }
            guard list == ["chunked"] else {
                throw fail(.unsupportedTransferCoding(list.joined(separator: ", ")))
            }
            body = []
            state = .chunkSize
            expectsContinue = request.headers.hasToken("100-continue", in: "Expect")
            return
        }
        if !lengths.isEmpty {
            let values = Set(lengths.flatMap { $0.split(separator: ",").map { String($0.trimmingWhitespaceASCII()) } })
            guard values.count == 1, let text = values.first, !text.isEmpty, text.utf8.count <= 18,
                  text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let length = Int(text) else {
                throw fail(.badRequest("invalid Content-Length"))
            }
            guard length <= maxBodyBytes else { throw fail(.bodyTooLarge(limit: maxBodyBytes)) }
            state = .fixedBody(length: length)
            expectsContinue = length > 0 && request.headers.hasToken("100-continue", in: "Expect")
            return
        }
        state = .fixedBody(length: 0)
    }

    private mutating func finish(_ request: HTTPRequest) -> HTTPRequest {
        state = .head
        pending = nil
        expectsContinue = false
        scanPosition = position
        lineStart = position
        return request
    }

    // MARK: - helpers

    private func findLineEnd(from start: Int, limit: Int) -> (contentEnd: Int, next: Int)? {
        var i = start
        let end = min(buffer.count, start + limit + 2)
        while i < end {
            if buffer[i] == 0x0A {
                let contentEnd = (i > start && buffer[i - 1] == 0x0D) ? i - 1 : i
                return (contentEnd, i + 1)
            }
            i += 1
        }
        return nil
    }

    private func trimmedLine(_ start: Int, _ end: Int) -> ArraySlice<UInt8> { buffer[start..<end] }

    private func parseChunkSize(_ line: ArraySlice<UInt8>) throws(HTTPParseError) -> Int {
        var digits = line
        if let semicolon = line.firstIndex(of: UInt8(ascii: ";")) { digits = line[line.startIndex..<semicolon] }
        while let l = digits.last, l == 0x20 || l == 0x09 { digits = digits.dropLast() }
        guard !digits.isEmpty, digits.count <= 15 else { throw .badRequest("invalid chunk size") }
        var size = 0
        for b in digits {
            let d: Int
            switch b {
            case 0x30...0x39: d = Int(b - 0x30)
            case 0x41...0x46: d = Int(b - 0x41 + 10)
            case 0x61...0x66: d = Int(b - 0x61 + 10)
            default: throw .badRequest("invalid chunk size")
            }
            size = size * 16 + d
        }
        return size
    }

    private mutating func fail(_ error: HTTPParseError) -> HTTPParseError {
        state = .failed(error)
        return error
    }

    static func isTokenByte(_ b: UInt8) -> Bool {
        switch b {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): true
        default: false
        }
    }
}
