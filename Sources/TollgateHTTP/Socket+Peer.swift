#if canImport(Glibc)
import Glibc
#endif

extension Socket {
    /// The numeric address of a connected socket's peer (`127.0.0.1`, `::1`), or nil.
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
            default:
                return false
            }
        }
        guard ok else { return nil }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
