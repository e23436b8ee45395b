#if canImport(Glibc)
import Glibc
#endif
import CSystemd

/// Sockets systemd passes to a socket-activated service (sd_listen_fds(3)): fds 3, 4, …
/// announced by `LISTEN_FDS` for the process named by `LISTEN_PID`.
public enum SocketActivation {
    /// What systemd passed: listening stream sockets to serve on, and why any other fd was
    /// left alone.
    public struct Passed: Sendable {
        public var sockets: [Int32] = []
        public var problems: [String] = []
    }

    /// Takes the passed sockets and unsets `LISTEN_FDS`/`LISTEN_PID`/`LISTEN_FDNAMES` (so call
    /// it once, early, before other threads read the environment). Empty when none were passed.
    public static func takeListeningSockets() -> Passed {
        var passed = Passed()
        let count = sd_listen_fds(1)
        if count < 0 {
            passed.problems.append("sd_listen_fds failed: \(String(cString: strerror(-count)))")
            return passed
        }
        for fd in SD_LISTEN_FDS_START..<(SD_LISTEN_FDS_START + count) {
            if sd_is_socket(fd, AF_UNSPEC, Int32(SOCK_STREAM.rawValue), 1) > 0 {
                passed.sockets.append(fd)
            } else {
                passed.problems.append("fd \(fd) is not a listening stream socket; ignored")
            }
        }
        return passed
    }

    /// The local address of a socket: `127.0.0.1:4100`, `[::1]:4100` or a unix socket path.
    public static func localAddress(_ fd: Int32) -> String {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard rc == 0 else { return "fd \(fd)" }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        switch Int32(storage.ss_family) {
        case AF_INET:
            var addr = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in.self) }
            inet_ntop(AF_INET, &addr.sin_addr, &text, socklen_t(text.count))
            return "\(string(text)):\(UInt16(bigEndian: addr.sin_port))"
        case AF_INET6:
            var addr = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in6.self) }
            inet_ntop(AF_INET6, &addr.sin6_addr, &text, socklen_t(text.count))
            return "[\(string(text))]:\(UInt16(bigEndian: addr.sin6_port))"
        case AF_UNIX:
            let path = withUnsafeBytes(of: storage) { raw -> String in
                let start = MemoryLayout.offset(of: \sockaddr_un.sun_path)!
                let bytes = raw[start..<max(start, min(Int(length), raw.count))]
                return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            return path.isEmpty ? "unix socket fd \(fd)" : path
        default:
            return "fd \(fd)"
        }
    }

    private static func string(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
