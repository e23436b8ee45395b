#if canImport(Glibc)
import Glibc
#endif
import TollgateCore
import TollgateHTTP

/// A client as a request is matched against it: its key read, its user name turned into a uid.
public struct ResolvedClient: Sendable {
    public var name: String
    public var key: String?
    public var uid: UInt32?
    public var unit: String?
    public var budget: Budget
    public var allow: [String]
    public var rpm: Int?
    public var tpm: Int?
    /// Why the client can never match (a key that cannot be read, an unknown user), or nil.
    public var problem: String?
}

/// The configured clients and how a request is matched to one: a presented key first (compared in
/// constant time), then the local identity of the caller — the uid owning its socket, the
/// systemd unit of its process — then `anonymous`. Immutable; part of a snapshot.
public struct ClientDirectory: Sendable {
    public let clients: [ResolvedClient]
    /// Some client is recognised by uid or unit (so the peer must be looked up).
    let needsPeer: Bool
    /// Some client is recognised by unit (so the peer's process must be found).
    let needsPID: Bool
    let anonymous: ResolvedClient?

    public var isEmpty: Bool { clients.isEmpty }
    /// Some client is recognised by a key (what a non-loopback listener requires).
    public var hasKeys: Bool { clients.contains { $0.key != nil } }
    /// The keys, for the redactor.
    var secrets: [String] { clients.compactMap(\.key) }

    public init(_ configs: [ClientConfig], environment: [String: String]) {
        clients = configs.map { c in
            var r = ResolvedClient(name: c.name, budget: c.budget, allow: c.allow, rpm: c.rpm, tpm: c.tpm)
            r.unit = c.systemdUnit
            if let key = c.key {
                switch key.resolve(environment: environment) {
                case .success(let value): r.key = value
                case .failure(let why): r.problem = "its key cannot be read: \(why.problem)"
                }
            }
            if let user = c.unixUser {
                if let uid = Self.uid(of: user) { r.uid = uid } else { r.problem = "there is no local user \"\(user)\"" }
            }
            return r
        }
        needsPeer = clients.contains { $0.uid != nil || $0.unit != nil }
        needsPID = clients.contains { $0.unit != nil }
        anonymous = clients.first { $0.name == ClientConfig.anonymousName }
    }

    /// Warnings for the start and reload logs.
    public var warnings: [String] {
        clients.compactMap { c in c.problem.map { "client \"\(c.name)\" can never match: \($0)" } }
    }

    /// The client a request comes from, or nil (no client matches: 401).
    func identify(_ request: HTTPRequest, peer: (_ needPID: Bool) -> PeerIdentity?) -> ResolvedClient? {
        if let presented = Self.presentedKey(request.headers) {
            var found: ResolvedClient?
            for c in clients where c.problem == nil {
                // Every key is compared, matched or not, so the time taken tells nothing.
                if let key = c.key, Gateway.constantTimeEqual(presented, key), found == nil { found = c }
            }
            if let found { return found }
        }
        if needsPeer, let identity = peer(needsPID) {
            let unit = needsPID ? identity.pid.flatMap(Self.unit(ofPID:)) : nil
            if let unit, let c = clients.first(where: { $0.problem == nil && $0.unit == unit }) { return c }
            if let c = clients.first(where: { $0.problem == nil && $0.uid == identity.uid && $0.key == nil && $0.unit == nil }) {
                return c
            }
        }
        return anonymous
    }

    /// `Authorization: Bearer KEY`, else `x-api-key: KEY`.
    static func presentedKey(_ headers: HTTPHeaders) -> String? {
        if let value = headers["Authorization"] {
            let v = value.trimmingWhitespaceASCII()
            if v.lowercased().hasPrefix("bearer ") { return String(String(v.dropFirst(7)).trimmingWhitespaceASCII()) }
        }
        return headers["x-api-key"].map { String($0.trimmingWhitespaceASCII()) }
    }

    /// Whether `client` may ask for `model`: its allow-list names the route or model, a
    /// `PROVIDER/*` pattern covers `PROVIDER/model`, `*` covers all; an empty list allows all.
    static func allows(_ client: ResolvedClient, model: String) -> Bool {
        client.allow.isEmpty || client.allow.contains { pattern in
            pattern == "*" || pattern == model || (pattern.hasSuffix("/*") && model.hasPrefix(pattern.dropLast()))
        }
    }

    static func uid(of user: String) -> UInt32? {
        if let n = UInt32(user) { return n }
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getpwnam_r(user, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return entry.pw_uid
    }

    /// The systemd unit a process runs in, read from its cgroup (`/proc/PID/cgroup`).
    static func unit(ofPID pid: Int32) -> String? {
        guard let bytes = readWholeFile("/proc/\(pid)/cgroup") else { return nil }
        return unit(ofCgroup: String(decoding: bytes, as: UTF8.self))
    }

    /// The innermost `.service` (or `.scope`) of a process's cgroup: the unified (v2) line
    /// `0::/system.slice/a.service` → `a.service`, a user's service `…/user@1000.service/app.slice/b.service`
    /// → `b.service`; on a hybrid hierarchy, the `name=systemd` line when the unified one names no unit.
    static func unit(ofCgroup text: String) -> String? {
        func unit(_ line: Substring) -> String? {
            let path = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).last ?? ""
            return path.split(separator: "/").last(where: { $0.hasSuffix(".service") || $0.hasSuffix(".scope") }).map(String.init)
        }
        let lines = text.split(separator: "\n")
        if let line = lines.first(where: { $0.hasPrefix("0::") }), let found = unit(line) { return found }
        return lines.first(where: { $0.contains(":name=systemd:") }).flatMap(unit)
    }
}
