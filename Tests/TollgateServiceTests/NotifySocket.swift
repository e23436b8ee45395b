import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TollgateTestSupport

/// systemd's side of sd_notify: an AF_UNIX datagram socket whose path goes in `NOTIFY_SOCKET`.
/// A thread collects every datagram, in order; call `stop()` when done (the thread keeps the
/// object alive until then).
final class NotifySocket: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private let lock = NSLock()
    private var received: [String] = []
    private var stopped = false

    init() throws {
        path = "/tmp/tollgate-notify-\(UUID().uuidString.prefix(12)).sock"
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestError("socket(AF_UNIX) failed: errno \(errno)") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: Array(path.utf8).prefix(raw.count - 1))
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            close(fd)
            throw TestError("bind(\(path)) failed: errno \(errno)")
        }
        var tv = timeval(tv_sec: 0, tv_usec: 50_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        Thread { [self] in readLoop() }.start()
    }

    deinit { stop() }

    /// Removes the socket file now; the reader thread closes the descriptor within 50 ms.
    func stop() {
        let first = lock.withLock { () -> Bool in
            defer { stopped = true }
            return !stopped
        }
        if first { unlink(path) }
    }

    /// Every datagram received so far.
    var messages: [String] { lock.withLock { received } }

    /// The first datagram after index `after` (exclusive) that `matches`, with its index.
    func wait(after: Int = -1, timeout: Double = 10, _ matches: (String) -> Bool) -> (index: Int, text: String)? {
        var found: (Int, String)?
        _ = poll(timeout: timeout) {
            let all = messages
            if let i = all.indices.first(where: { $0 > after && matches(all[$0]) }) { found = (i, all[i]) }
            return found != nil
        }
        return found
    }

    /// How many datagrams so far match.
    func count(_ matches: (String) -> Bool) -> Int { messages.filter(matches).count }

    private func readLoop() {
        var buffer = [UInt8](repeating: 0, count: 8192)
        while !lock.withLock({ stopped }) {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 {
                let text = String(decoding: buffer[0..<n], as: UTF8.self)
                lock.withLock { received.append(text) }
            }
        }
        close(fd)
    }
}

/// A listening TCP socket on 127.0.0.1 with an ephemeral port, close-on-exec.
func listeningSocket() throws -> (fd: Int32, port: UInt16) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { throw TestError("socket failed: errno \(errno)") }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard rc == 0, listen(fd, 128) == 0 else {
        close(fd)
        throw TestError("bind/listen failed: errno \(errno)")
    }
    var bound = sockaddr_in()
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &bound) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return (fd, UInt16(bigEndian: bound.sin_port))
}

/// True when a TCP connection to 127.0.0.1:`port` is refused.
func connectionRefused(port: UInt16) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = port.bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    return rc != 0 && errno == ECONNREFUSED
}
