import TollgateCore
import TollgateHTTP
import TollgateWire

/// Who may talk to tollgate, checked before routing: the `Host` must be a loopback name, the
/// listen address or in `server.allowed_hosts` (against DNS rebinding); a browser request from
/// another origin must come from `server.cors_origins` (preflights are answered); `/admin/*`
/// needs the `admin_key` when one is configured, else a loopback client.
extension Gateway {
    /// The writer to answer `request` through (one that adds CORS headers for an allowed
    /// origin), or nil when the request was refused or was a preflight, already answered.
    /// `path` is `request.path`, worked out once by the caller.
    func admit(_ request: HTTPRequest, _ writer: any ResponseWriter, path: Substring,
               snapshot: GatewaySnapshot) -> (any ResponseWriter)? {
        let server = snapshot.config.server
        if let host = request.headers["Host"], !Self.hostAllowed(host, listen: snapshot.config.listen, allowed: server.allowedHosts) {
            respondError(writer, GatewayError(status: 421, type: "invalid_request_error", code: "host_not_allowed",
                                              message: "The Host \"\(PathSegment.printable(host))\" is not served here; add it to server.allowed_hosts."))
            return nil
        }
        var response = writer
        let origin = request.headers["Origin"].map { $0.lowercased() }
        let listed = origin.map { server.corsOrigins.contains($0) || server.corsOrigins.contains("*") } ?? false
        if let origin, !listed, !Self.sameOrigin(origin, host: request.headers["Host"]) {
            respondError(writer, .forbidden("Cross-origin requests from \(PathSegment.printable(origin)) are refused; add the origin to server.cors_origins.",
                                            code: "origin_not_allowed"))
            return nil
        }
        if !listed, request.headers["Sec-Fetch-Site"]?.lowercased() == "cross-site" {
            respondError(writer, .forbidden("Cross-site browser requests are refused; add the origin to server.cors_origins.",
                                            code: "origin_not_allowed"))
            return nil
        }
        if listed, let origin {
            if request.method == "OPTIONS", request.headers["Access-Control-Request-Method"] != nil {
                writer.respond(status: 204, headers: Self.preflightHeaders(origin, request: request), body: [])
                return nil
            }
            response = CORSResponseWriter(writer, origin: origin)
        }
        // The dashboard page itself holds no data: with an admin key configured anyone may load
        // it (a browser cannot send the key with a page load) and it asks for the key; its data
        // comes from `/admin/*`. Without a key it answers loopback clients only, like `/admin/*`.
        let dashboard = path.hasPrefix("/dashboard")
        let keyedPage = dashboard && snapshot.adminKey != nil
        if path.hasPrefix("/admin") || (dashboard && !keyedPage) {
            if let refusal = adminRefusal(request, snapshot: snapshot) {
                respondError(response, refusal)
                return nil
            }
        }
        return response
    }

    /// Why `/admin/*` refuses `request`, or nil: the admin key when configured, else a loopback client.
    func adminRefusal(_ request: HTTPRequest, snapshot: GatewaySnapshot) -> GatewayError? {
        switch snapshot.adminKey {
        case nil:
            return request.isLoopbackPeer ? nil
                : .forbidden("The admin endpoints answer only loopback clients unless admin_key is configured.", code: "admin_loopback_only")
        case .failure:
            return .forbidden("The admin endpoints are closed: admin_key could not be read.", code: "admin_key_unavailable")
        case .success(let key):
            let bearer = request.headers["Authorization"].flatMap { value -> String? in
                let v = value.trimmingWhitespaceASCII()
                return v.lowercased().hasPrefix("bearer ") ? String(String(v.dropFirst(7)).trimmingWhitespaceASCII()) : nil
            }
            let given = bearer ?? request.headers["x-tollgate-admin-key"] ?? ""
            return Self.constantTimeEqual(given, key) ? nil
                : GatewayError(status: 401, type: "authentication_error", code: "invalid_admin_key",
                               message: "The admin endpoints need the admin key (Authorization: Bearer KEY).")
        }
    }

    /// A `Host` value accepted: a loopback name, the listen host, or an allowed host (with or without the port).
    static func hostAllowed(_ value: String, listen: ListenAddress, allowed: [String]) -> Bool {
        let full = String(value.trimmingWhitespaceASCII()).lowercased()
        let name = hostName(full)
        if ["localhost", "127.0.0.1", "[::1]"].contains(name) { return true }
        let listenHost = listen.host.lowercased()
        if !listenHost.isEmpty, listenHost != "0.0.0.0", listenHost != "::",
           name == listenHost || name == "[\(listenHost)]" { return true }
        return allowed.contains { $0 == "*" || $0 == full || $0 == name }
    }

    /// `host` without its `:port` (an IPv6 literal keeps its brackets).
    static func hostName(_ host: String) -> String {
        if host.hasPrefix("["), let close = host.firstIndex(of: "]") { return String(host[...close]) }
        if let colon = host.lastIndex(of: ":") { return String(host[..<colon]) }
        return host
    }

    /// The origin names the same scheme-less host and port the request was sent to (`Host` already checked).
    static func sameOrigin(_ origin: String, host: String?) -> Bool {
        guard let host = host.map({ String($0.trimmingWhitespaceASCII()).lowercased() }) else { return false }
        return origin == "http://\(host)" || origin == "https://\(host)"
    }

    static func preflightHeaders(_ origin: String, request: HTTPRequest) -> HTTPHeaders {
        var h = HTTPHeaders()
        h.add("Access-Control-Allow-Origin", origin)
        h.add("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        h.add("Access-Control-Allow-Headers",
              request.headers["Access-Control-Request-Headers"] ?? "authorization, content-type, x-tollgate-provider")
        h.add("Access-Control-Max-Age", "600")
        h.add("Vary", "Origin")
        return h
    }

    /// Compares without stopping at the first difference, so timing tells nothing about the key.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<max(x.count, y.count) {
            diff |= (i < x.count ? x[i] : 0) ^ (i < y.count ? y[i] : 0)
        }
        return diff == 0
    }
}

/// Forwards to a writer, adding `Access-Control-Allow-Origin` for an allowed origin to the head.
/// Lives on the writer's loop queue.
final class CORSResponseWriter: ResponseWriter {
    let base: any ResponseWriter
    let origin: String

    init(_ base: any ResponseWriter, origin: String) {
        self.base = base
        self.origin = origin
    }

    var request: HTTPRequest { base.request }
    var loop: EventLoop { base.loop }
    var startedAt: UInt64 { base.startedAt }
    var status: Int { base.status }
    var hasStarted: Bool { base.hasStarted }
    var isFinished: Bool { base.isFinished }
    var isClientGone: Bool { base.isClientGone }
    var bufferedBytes: Int { base.bufferedBytes }
    var onClientGone: (() -> Void)? {
        get { base.onClientGone }
        set { base.onClientGone = newValue }
    }
    var onDrained: (() -> Void)? {
        get { base.onDrained }
        set { base.onDrained = newValue }
    }
    var onUndelivered: (() -> Void)? {
        get { base.onUndelivered }
        set { base.onUndelivered = newValue }
    }

    func respond(status: Int, headers: HTTPHeaders, body: [UInt8]) { base.respond(status: status, headers: cors(headers), body: body) }
    func startStream(status: Int, headers: HTTPHeaders) { base.startStream(status: status, headers: cors(headers)) }
    func writeChunk(_ bytes: [UInt8]) { base.writeChunk(bytes) }
    func endStream() { base.endStream() }
    func peerIdentity(needPID: Bool) -> PeerIdentity? { base.peerIdentity(needPID: needPID) }

    private func cors(_ headers: HTTPHeaders) -> HTTPHeaders {
        var h = headers
        h.set("Access-Control-Allow-Origin", origin)
        h.add("Access-Control-Expose-Headers", "x-tollgate-provider, x-tollgate-model, x-tollgate-request-id, x-tollgate-cost-usd")
        h.add("Vary", "Origin")
        return h
    }
}
