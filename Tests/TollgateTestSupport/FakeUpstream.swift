import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A request the fake upstream received.
public struct RecordedRequest: Sendable {
    public var method: String
    public var path: String
    public var headers: [(String, String)]
    public var body: [UInt8]
    public func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    public var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] }
}

/// A scripted upstream provider on 127.0.0.1 (blocking sockets, a thread per connection),
/// independent of tollgate's own HTTP code. The behaviour closure answers each request by
/// writing raw bytes through the `UpstreamConnection`.
public final class FakeUpstream: @unchecked Sendable {
    public let port: UInt16
    private let listenFD: Int32
    private let lock = NSLock()
    private var _requests: [RecordedRequest] = []
    private var _disconnects = 0
    private var _connections = 0
    private var stopped = false
    private let behaviour: @Sendable (RecordedRequest, UpstreamConnection) throws -> Void

    public init(behaviour: @escaping @Sendable (RecordedRequest, UpstreamConnection) throws -> Void) throws {
        self.behaviour = behaviour
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0, listen(fd, 128) == 0 else { throw TestError("fake upstream cannot listen") }
        var bound = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: bound.sin_port)
        listenFD = fd
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    public var baseURL: String { "http://127.0.0.1:\(port)/v1" }
    public var requests: [RecordedRequest] { lock.withLock { _requests } }
    /// Connections on which the peer (tollgate) went away while the behaviour was writing.
    public var disconnects: Int { lock.withLock { _disconnects } }
    public var connectionsAccepted: Int { lock.withLock { _connections } }

    /// Stops listening (once: a second close could hit a descriptor reused by someone else).
    public func stop() {
        let already = lock.withLock { () -> Bool in
            defer { stopped = true }
            return stopped
        }
        guard !already else { return }
        // Wakes the accept thread, which closes the descriptor itself: closing it here could
        // let that thread accept on a number already reused by another listener.
        shutdown(listenFD, Int32(SHUT_RDWR))
    }

    deinit { stop() }

    private func acceptLoop() {
        defer { Glibc.close(listenFD) }
        while true {
            if lock.withLock({ stopped }) { return }
            let fd = accept(listenFD, nil, nil)
            if fd < 0 {
                if lock.withLock({ stopped }) { return }
                if errno == EINTR { continue }
                return
            }
            if lock.withLock({ stopped }) {
                Glibc.close(fd)
                return
            }
            lock.withLock { _connections += 1 }
            let thread = Thread { [self] in serve(fd) }
            thread.start()
        }
    }

    private func serve(_ fd: Int32) {
        let connection = UpstreamConnection(fd: fd)
        defer { Glibc.close(fd) }
        while let request = connection.readRequest() {
            lock.withLock { _requests.append(request) }
            do {
                try behaviour(request, connection)
            } catch {
                lock.withLock { _disconnects += 1 }
                return
            }
            if connection.closed { return }
        }
    }

    /// Waits until `condition` holds (polling), up to `timeout` seconds.
    public func wait(timeout: Double = 5, until condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return true }
            usleep(10_000)
        }
        return condition()
    }
}

/// The fake upstream's side of one connection.
public final class UpstreamConnection: @unchecked Sendable {
    let fd: Int32
    private var buffer: [UInt8] = []
    public private(set) var closed = false

    init(fd: Int32) { self.fd = fd }

    func readRequest() -> RecordedRequest? {
        while true {
            if let end = headEnd() {
                let head = String(decoding: buffer[0..<end], as: UTF8.self)
                buffer.removeFirst(end + 4)
                var lines = head.components(separatedBy: "\r\n")
                let requestLine = lines.removeFirst().split(separator: " ")
                let headers = lines.compactMap { line -> (String, String)? in
                    guard let colon = line.firstIndex(of: ":") else { return nil }
                    return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
                }
                let length = headers.first { $0.0.lowercased() == "content-length" }.flatMap { Int($0.1) } ?? 0
                while buffer.count < length { guard fill() else { return nil } }
                let body = Array(buffer[0..<length])
                buffer.removeFirst(length)
                return RecordedRequest(method: String(requestLine.first ?? ""), path: String(requestLine.dropFirst().first ?? ""),
                                       headers: headers, body: body)
            }
            guard fill() else { return nil }
        }
    }

    private func fill() -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return false }
        buffer.append(contentsOf: chunk[0..<n])
        return true
    }

    private func headEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }

    public func write(_ text: String) throws { try write(Array(text.utf8)) }

    public func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw TestError("peer went away") }
            offset += n
        }
    }

    /// A complete response with a Content-Length.
    public func respond(status: Int, contentType: String = "application/json", headers: [(String, String)] = [],
                        body: String) throws {
        var head = "HTTP/1.1 \(status) X\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\n"
        for (n, v) in headers { head += "\(n): \(v)\r\n" }
        try write(head + "\r\n" + body)
    }

    /// Starts a chunked SSE response.
    public func startStream(status: Int = 200) throws {
        try write("HTTP/1.1 \(status) OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
    }

    /// Sends one chunk of a chunked body.
    public func chunk(_ text: String) throws {
        let bytes = Array(text.utf8)
        try write(String(bytes.count, radix: 16) + "\r\n" + text + "\r\n")
    }

    public func endChunks() throws { try write("0\r\n\r\n") }

    /// Closes the connection abruptly (what a dying upstream does).
    public func close() {
        closed = true
        shutdown(fd, Int32(SHUT_RDWR))
    }
}

/// Canned OpenAI bodies used by the tests.
public enum Canned {
    public static func completion(model: String, text: String = "Hello from upstream") -> String {
        #"{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"\#(model)","choices":[{"index":0,"message":{"role":"assistant","content":"\#(text)"},"finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":4,"total_tokens":11}}"#
    }

    public static func chunk(_ content: String, model: String = "m") -> String {
        #"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"\#(model)","choices":[{"index":0,"delta":{"content":"\#(content)"},"finish_reason":null}]}"# + "\n\n"
    }

    public static let finish = #"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"# + "\n\n"
    public static let done = "data: [DONE]\n\n"
}
