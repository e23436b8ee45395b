import CShims
#if canImport(Glibc)
import Glibc
#endif

extension Socket {
    /// The numeric address of a connected socket's peer (`127.0.0.1`, `::1`; `unix` for a Unix
    /// socket's), or nil.
    public static func peerAddress(_ fd: Int32) -> String? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(fd, $0, &length) }
        }
        guard rc == 0 else { return nil }
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let family = Int32(storage.ss_family)
        let ok: Bool = withUnsafeBytes(of: &storage) { bytes in
            let raw = bytes.baseAddress!
            switch family {
            case AF_INET:
                let address = raw.advanced(by: MemoryLayout.offset(of: \sockaddr_in.sin_addr)!)
                return inet_ntop(AF_INET, address, &text, socklen_t(text.count)) != nil
            case AF_INET6:
                let address = raw.advanced(by: MemoryLayout.offset(of: \sockaddr_in6.sin6_addr)!)
                return inet_ntop(AF_INET6, address, &text, socklen_t(text.count)) != nil
            case AF_UNIX:
                for (i, b) in "unix".utf8.enumerated() { text[i] = CChar(bitPattern: b) }
                return true
            default:
                return false
            }
        }
        guard ok else { return nil }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Who is at the other end of a connection on this machine: the owner of the client's socket
/// (from `SO_PEERCRED` on a Unix socket, from the kernel's socket table for loopback TCP) and,
/// when asked for, the process holding it.
public struct PeerIdentity: Sendable, Equatable {
    public var uid: UInt32
    public var pid: Int32?
    public init(uid: UInt32, pid: Int32?) {
        self.uid = uid
        self.pid = pid
    }
}

extension Socket {
    /// The identity of a connected socket's peer, or nil when it is not on this machine or the
    /// kernel does not say. `needPID` costs a scan of /proc for TCP peers (Unix sockets give it at once).
    public static func peerIdentity(_ fd: Int32, needPID: Bool) -> PeerIdentity? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard rc == 0 else { return nil }
        if Int32(storage.ss_family) == AF_UNIX {
            var pid: Int32 = 0
            var uid: UInt32 = 0
            guard tg_peer_cred(fd, &pid, &uid) == 0 else { return nil }
            return PeerIdentity(uid: uid, pid: pid > 0 ? pid : nil)
        }
        var uid: UInt32 = 0
        var inode: UInt64 = 0
        guard tg_tcp_peer_uid(fd, &uid, &inode) == 0 else { return nil }
        guard needPID else { return PeerIdentity(uid: uid, pid: nil) }
        let pid = tg_pid_of_socket_inode(inode)
        return PeerIdentity(uid: uid, pid: pid > 0 ? pid : nil)
    }

    /// A listening Unix stream socket at `path` (a stale socket file there is replaced) with
    /// file mode `mode`, close-on-exec.
    public static func listenUnix(path: String, mode: UInt32, backlog: Int32 = 1024) throws(SocketError) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else { throw SocketError("unix socket path \(path) is too long", code: ENAMETOOLONG) }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        var info = stat()
        if lstat(path, &info) == 0 {
            guard (info.st_mode & S_IFMT) == S_IFSOCK else {
                throw SocketError("\(path) exists and is not a socket", code: EEXIST)
            }
            unlink(path)
        }
        let fd = tg_socket_cloexec(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketError("socket(AF_UNIX)") }
        let length = socklen_t(MemoryLayout<sockaddr_un>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0 else {
            let e = SocketError("bind(\(path))")
            close(fd)
            throw e
        }
        guard chmod(path, mode_t(mode)) == 0, Glibc.listen(fd, backlog) == 0 else {
            let e = SocketError("listen(\(path))")
            close(fd)
            throw e
        }
        return fd
    }
}
