import TollgateCore

/// One parsed HTTP/1.x request with its whole body.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The request target as sent (`/v1/models?x=1`).
    public var target: String
    public var version: HTTPVersion
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// The client's numeric address (`127.0.0.1`, `::1`), set by the connection; nil when unknown.
    public var peer: String?

    public init(method: String, target: String, version: HTTPVersion = .http11, headers: HTTPHeaders = HTTPHeaders(),
                body: [UInt8] = []) {
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.body = body
    }

    /// The client connected from a loopback address (127.0.0.0/8, `::1`, or either mapped to
    /// IPv6) or over the Unix socket (on this machine by definition).
    public var isLoopbackPeer: Bool {
        guard var address = peer?.lowercased() else { return false }
        if address == "unix" { return true }
        if address.hasPrefix("::ffff:") { address.removeFirst(7) }
        return address == "::1" || address.hasPrefix("127.")
    }

    /// The target without its query string. The parser admits only visible ASCII in a target,
    /// so a byte search finds the same `?` a Character search would, without grapheme breaking.
    public var path: Substring {
        if let q = target.utf8.firstIndex(of: UInt8(ascii: "?")) { return target[..<q] }
        return Substring(target)
    }

    /// Whether the client lets the connection stay open after this request.
    public var keepAlive: Bool {
        switch version {
        case .http11: !headers.hasToken("close", in: "Connection")
        case .http10: headers.hasToken("keep-alive", in: "Connection")
        }
    }
}

public enum HTTPVersion: Sendable, Equatable {
    case http10, http11
    public var text: String { self == .http10 ? "HTTP/1.0" : "HTTP/1.1" }
}
