import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP client for tests: writes exact bytes and reads responses byte-accurately.
/// Every read has a timeout so a broken server fails the test instead of hanging it.
public final class RawClient {
    public let fd: Int32
    private var buffer: [UInt8] = []

    public init(port: UInt16, timeout: Double = 10) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestError("socket failed") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            Glibc.close(fd)
            throw TestError("connect to \(port) failed: errno \(errno)")
        }
        setTimeout(timeout)
    }

    deinit { Glibc.close(fd) }

    public func setTimeout(_ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - Double(Int(seconds))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    public func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw TestError("send failed: errno \(errno)") }
            offset += n
        }
    }

    /// Half-closes the sending side.
    public func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Reads more bytes into the buffer; false on EOF, throws on timeout or error.
    @discardableResult
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 {
            buffer.append(contentsOf: chunk[0..<n])
            return true
        }
        if n == 0 { return false }
        if errno == EAGAIN || errno == EWOULDBLOCK { throw TestError("timed out waiting for the server") }
        if errno == ECONNRESET { return false }
        throw TestError("recv failed: errno \(errno)")
    }

    /// True when the server has closed the connection (reads EOF) within the timeout.
    public func isClosedByServer() -> Bool {
        do {
            while true {
                if try !fill() { return true }
            }
        } catch {
            return false
        }
    }

    /// Reads one whole response (Content-Length, chunked, or until close).
    public func readResponse() throws -> TestResponse {
        let head = try readHead()
        var response = head
        if response.status >= 100 && response.status < 200 { return response }
        if let te = response.header("Transfer-Encoding"), te.lowercased().contains("chunked") {
            while let chunk = try readChunk() { response.body += chunk }
        } else if let length = response.header("Content-Length").flatMap(Int.init) {
            while buffer.count < length { guard try fill() else { throw TestError("EOF inside body") } }
            response.body = Array(buffer[0..<length])
            buffer.removeFirst(length)
        } else {
            while try fill() {}
            response.body = buffer
            buffer.removeAll()
        }
        return response
    }

    /// Reads a response head and returns it with an empty body (the body stays unread).
    public func readHead() throws -> TestResponse {
        while true {
            if let end = findHeadEnd() {
                let text = String(decoding: buffer[0..<end], as: UTF8.self)
                buffer.removeFirst(end + 4)
                var lines = text.components(separatedBy: "\r\n")
                let statusLine = lines.removeFirst()
                let parts = statusLine.split(separator: " ", maxSplits: 2)
                let status = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
                let headers = lines.compactMap { line -> (String, String)? in
                    guard let colon = line.firstIndex(of: ":") else { return nil }
                    return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
                }
                return TestResponse(status: status, headers: headers, body: [])
            }
            guard try fill() else { throw TestError("EOF before a response head; got \(String(decoding: buffer, as: UTF8.self))") }
        }
    }

    /// One chunk of a chunked body; nil after the last chunk.
    public func readChunk() throws -> [UInt8]? {
        let line = try readLine()
        guard let size = Int(line.split(separator: ";").first ?? "", radix: 16) else {
            throw TestError("bad chunk size line \(line)")
        }
        if size == 0 {
            while try !readLine().isEmpty {}
            return nil
        }
        while buffer.count < size + 2 { guard try fill() else { throw TestError("EOF inside chunk") } }
        let data = Array(buffer[0..<size])
        buffer.removeFirst(size + 2)
        return data
    }

    private func readLine() throws -> String {
        while true {
            if let i = buffer.firstIndex(of: 0x0A) {
                var line = Array(buffer[0..<i])
                buffer.removeFirst(i + 1)
                if line.last == 0x0D { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            guard try fill() else { throw TestError("EOF before end of line") }
        }
    }

    private func findHeadEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }
}

public struct TestResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
    public var text: String { String(decoding: body, as: UTF8.self) }
    public var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] }
    public var errorMessage: String? { (json?["error"] as? [String: Any])?["message"] as? String }
    public var errorType: String? { (json?["error"] as? [String: Any])?["type"] as? String }
}

public struct TestError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A POST request with a JSON body, as bytes.
public func postRequest(_ path: String, json: String, extraHeaders: String = "") -> String {
    "POST \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: \(json.utf8.count)\r\n\(extraHeaders)\r\n\(json)"
}

/// SSE `data:` payloads of a body, in order.
public func sseData(_ body: [UInt8]) -> [String] {
    String(decoding: body, as: UTF8.self).components(separatedBy: "\n").compactMap { line in
        line.hasPrefix("data: ") ? String(line.dropFirst(6)) : nil
    }
}
