import Foundation
import Testing
import TollgateCore
@testable import TollgateGateway
import TollgateHTTP

/// Clients: how a request is matched to one, allow lists, rate windows, the unit of a cgroup,
/// and the peer identity the kernel gives for loopback TCP and Unix sockets.
@Suite struct ClientTests {
    static func directory(_ configs: [ClientConfig], env: [String: String] = [:]) -> ClientDirectory {
        ClientDirectory(configs, environment: env)
    }

    static func client(_ name: String, key: String? = nil, user: String? = nil, unit: String? = nil,
                       allow: [String] = []) -> ClientConfig {
        var c = ClientConfig(name: name)
        c.key = key.map(SecretReference.init)
        c.unixUser = user
        c.systemdUnit = unit
        c.allow = allow
        return c
    }

    static func request(bearer: String? = nil, apiKey: String? = nil) -> HTTPRequest {
        var headers = HTTPHeaders()
        if let bearer { headers.add("Authorization", "Bearer \(bearer)") }
        if let apiKey { headers.add("x-api-key", apiKey) }
        return HTTPRequest(method: "POST", target: "/v1/chat/completions", headers: headers)
    }

    @Test func aKeyThenTheLocalUserThenAnonymous() {
        let dir = Self.directory([
            Self.client("a", key: "env:KEY_A"), Self.client("root", user: "0"), Self.client("anonymous"),
        ], env: ["KEY_A": "sk-a"])
        let me = PeerIdentity(uid: 0, pid: nil)
        #expect(dir.identify(Self.request(bearer: "sk-a"), peer: { _ in me })?.name == "a")
        #expect(dir.identify(Self.request(apiKey: "sk-a"), peer: { _ in nil })?.name == "a")
        #expect(dir.identify(Self.request(bearer: "sk-wrong"), peer: { _ in me })?.name == "root")
        #expect(dir.identify(Self.request(), peer: { _ in PeerIdentity(uid: 4242, pid: nil) })?.name == "anonymous")
        let closed = Self.directory([Self.client("a", key: "sk-a")])
        #expect(closed.identify(Self.request(bearer: "sk-b"), peer: { _ in me }) == nil)
    }

    @Test func aClientThatCannotBeReadNeverMatches() {
        let dir = Self.directory([Self.client("a", key: "env:MISSING"), Self.client("u", user: "no-such-user-tollgate")])
        #expect(dir.warnings.count == 2)
        #expect(dir.identify(Self.request(bearer: ""), peer: { _ in PeerIdentity(uid: 0, pid: nil) }) == nil)
    }

    @Test func allowLists() {
        let c = ResolvedClient(name: "c", budget: Budget(), allow: ["fast", "openai/*"])
        #expect(ClientDirectory.allows(c, model: "fast"))
        #expect(ClientDirectory.allows(c, model: "openai/gpt-4.1"))
        #expect(!ClientDirectory.allows(c, model: "openaix/gpt"))
        #expect(!ClientDirectory.allows(c, model: "gpt-4.1"))
        #expect(ClientDirectory.allows(ResolvedClient(name: "all", budget: Budget(), allow: []), model: "anything"))
    }

    @Test func theUnitOfACgroup() {
        #expect(ClientDirectory.unit(ofCgroup: "0::/system.slice/nightly-report.service\n") == "nightly-report.service")
        #expect(ClientDirectory.unit(ofCgroup: "0::/user.slice/user-1000.slice/user@1000.service/app.slice/sync.service")
            == "sync.service")
        #expect(ClientDirectory.unit(ofCgroup: "0::/user.slice/user-1000.slice/session-3.scope") == "session-3.scope")
        #expect(ClientDirectory.unit(ofCgroup: "0::/\n") == nil)
        // A hybrid hierarchy: the unified line names no unit, the systemd one does.
        #expect(ClientDirectory.unit(ofCgroup: "1:name=systemd:/system.slice/a.service\n0::/\n") == "a.service")
    }

    @Test func requestsPerMinute() throws {
        let limiter = RateLimiter()
        for i in 0..<3 { _ = try limiter.admit(client: "c", rpm: 3, tpm: nil, tokens: 1, now: 100 + Double(i)).get() }
        guard case .failure(let limited) = limiter.admit(client: "c", rpm: 3, tpm: nil, tokens: 1, now: 110) else {
            Issue.record("a fourth request within the minute was admitted")
            return
        }
        #expect(limited.retryAfter == 50)  // the first leaves the window at 160
        #expect(throws: Never.self) { try limiter.admit(client: "c", rpm: 3, tpm: nil, tokens: 1, now: 160.5).get() }
        // Another client has its own window.
        #expect(throws: Never.self) { try limiter.admit(client: "d", rpm: 3, tpm: nil, tokens: 1, now: 110).get() }
    }

    @Test func tokensPerMinuteCountTheRealTokens() throws {
        let limiter = RateLimiter()
        let first = try limiter.admit(client: "c", rpm: nil, tpm: 1000, tokens: 100, now: 0).get()
        limiter.settle(first, tokens: 950)  // the answer was long
        guard case .failure = limiter.admit(client: "c", rpm: nil, tpm: 1000, tokens: 100, now: 1) else {
            Issue.record("admitted past the tokens per minute")
            return
        }
        #expect(throws: Never.self) { try limiter.admit(client: "c", rpm: nil, tpm: 1000, tokens: 100, now: 61).get() }
    }

    @Test func aClientBudgetRefusalNamesTheClient() throws {
        let book = BudgetBook(limits: ["team": Budget(totalUSD: 1)], owner: "client")
        guard case .failure(let refusal) = book.reserve(provider: "team", amount: 2) else {
            Issue.record("reserved past the budget")
            return
        }
        #expect(refusal.description.hasPrefix(#"client "team" total budget"#))
    }

    @Test func theKernelNamesTheLoopbackPeer() throws {
        let listener = try Socket.listen(host: "127.0.0.1", port: 0, reusePort: false)
        defer { close(listener) }
        let port = try #require(Socket.localPort(listener))
        let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        var accepted: Int32 = -1
        for _ in 0..<100 where accepted < 0 {
            accepted = accept(listener, nil, nil)
            if accepted < 0 { usleep(10_000) }
        }
        defer { close(accepted) }
        let identity = try #require(Socket.peerIdentity(accepted, needPID: true))
        #expect(identity.uid == getuid())
        #expect(identity.pid == getpid())
    }

    @Test func aUnixSocketNamesItsPeer() throws {
        let path = NSTemporaryDirectory() + "tollgate-peer-\(getpid()).sock"
        let listener = try Socket.listenUnix(path: path, mode: 0o600)
        defer {
            close(listener)
            unlink(path)
        }
        let client = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(connected == 0)
        let accepted = accept(listener, nil, nil)
        defer { close(accepted) }
        let identity = try #require(Socket.peerIdentity(accepted, needPID: false))
        #expect(identity == PeerIdentity(uid: getuid(), pid: getpid()))
        var info = stat()
        #expect(stat(path, &info) == 0 && info.st_mode & 0o777 == 0o600)
    }
}
