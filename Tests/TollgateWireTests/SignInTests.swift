#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Testing
import TollgateCore
@testable import TollgateWire

/// A token endpoint that answers from a script and records what it was sent (no sockets).
final class ScriptedTokenClient: TokenHTTPClient {
    private let state: Mutex<(answers: [Result<TokenHTTPResponse, TokenHTTPError>], sent: [UpstreamRequest])>

    init(_ answers: [Result<TokenHTTPResponse, TokenHTTPError>]) { state = Mutex((answers, [])) }

    static func json(_ status: Int, _ body: JSONValue) -> Result<TokenHTTPResponse, TokenHTTPError> {
        .success(TokenHTTPResponse(status: status, body: body.serialized()))
    }

    var sent: [UpstreamRequest] { state.withLock { $0.sent } }

    func send(_ request: UpstreamRequest) -> Result<TokenHTTPResponse, TokenHTTPError> {
        state.withLock { s in
            s.sent.append(request)
            return s.answers.isEmpty ? .failure(TokenHTTPError("no answer scripted")) : s.answers.removeFirst()
        }
    }
}

/// A temporary folder removed at the end of the test.
struct TempDir: ~Copyable {
    let path: String
    init() {
        var template = Array("/tmp/tollgate-signin-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }
    func write(_ name: String, _ text: String, mode: mode_t = 0o600) -> String {
        let file = path + "/" + name
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, mode)
        _ = Array(text.utf8).withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        fchmod(fd, mode)
        close(fd)
        return file
    }
    func entries() -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let e = readdir(dir) {
            let name = withUnsafePointer(to: e.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }
    deinit { _ = system("rm -rf '\(path)'") }
}

func unsignedJWT(_ claims: JSONValue) -> String {
    func part(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let n = min(3, bytes.count - i)
            var v = UInt32(bytes[i]) << 16
            if n > 1 { v |= UInt32(bytes[i + 1]) << 8 }
            if n > 2 { v |= UInt32(bytes[i + 2]) }
            for k in 0..<(n + 1) { out.append(table[Int((v >> UInt32(18 - 6 * k)) & 63)]) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }
    return part(Array(#"{"alg":"none"}"#.utf8)) + "." + part(claims.serialized()) + ".sig"
}

@Suite struct SignInTests {
    // MARK: anthropic_subscription

    @Test func oauthBetaIsMergedOnceIntoTheClientsBetas() {
        #expect(AnthropicSubscriptionAuth.mergingBeta(nil) == "oauth-2025-04-20")
        #expect(AnthropicSubscriptionAuth.mergingBeta("a, b,a") == "a,b,oauth-2025-04-20")
        #expect(AnthropicSubscriptionAuth.mergingBeta("oauth-2025-04-20,x") == "oauth-2025-04-20,x")
    }

    @Test func applySendsTheBearerNeverAnAPIKey() {
        var provider = testProvider(type: "anthropic_subscription", chat: AnthropicMessages())
        provider = provider.signedIn(SessionCredential(token: "tok-1"))
        var request = UpstreamRequest(url: "https://x.test/v1/messages")
        request.headers.set("x-api-key", "client-key")
        request.headers.set("anthropic-beta", "files-api-2025-04-14")
        AnthropicSubscriptionAuth().apply(to: &request, provider: provider)
        #expect(request.headers["Authorization"] == "Bearer tok-1")
        #expect(request.headers["x-api-key"] == nil)
        #expect(request.headers["anthropic-beta"] == "files-api-2025-04-14,oauth-2025-04-20")
        #expect(request.headers["anthropic-version"] == "2023-06-01")
    }

    @Test func clientModeNeedsTheClientsBearer() {
        var provider = testProvider(type: "anthropic_subscription", chat: AnthropicMessages())
        guard case .failed(let failure) = AnthropicSubscriptionAuth().readiness(of: provider) else {
            Issue.record("a request without a bearer must fail")
            return
        }
        #expect(failure.kind == .auth && failure.error.status == 401)
        provider.clientBearer = "sk-ant-oat01-x"
        guard case .ready(let session?) = AnthropicSubscriptionAuth().readiness(of: provider) else {
            Issue.record("the client's bearer is the session")
            return
        }
        #expect(session.token == "sk-ant-oat01-x")
    }

    @Test func aValidFileTokenIsUsedWithoutRefresh() throws {
        let dir = TempDir()
        let expires = Int((wallClockSeconds() + 3600) * 1000)
        let path = dir.write("c.json", #"{"claudeAiOauth": {"accessToken": "at", "refreshToken": "rt", "expiresAt": \#(expires)}}"#)
        let http = ScriptedTokenClient([])
        let session = try AnthropicSubscriptionAuth.session(path: path, tokenURL: "http://t", clientID: "c", http: http).get()
        #expect(session.token == "at")
        #expect(http.sent.isEmpty)
        #expect(abs((session.expiresAt ?? 0) - Double(expires) / 1000) < 0.01)
    }

    @Test func anExpiringFileTokenIsRefreshedAndWrittenBack() throws {
        let dir = TempDir()
        let now = wallClockSeconds()
        let path = dir.write("c.json", """
            {"claudeAiOauth": {"accessToken": "old", "refreshToken": "rt1", "expiresAt": \(Int((now + 60) * 1000)),
             "scopes": ["user:inference"]}, "other": 1}
            """, mode: 0o640)
        // No expires_in, no new refresh token: one hour, and the old refresh token is kept.
        let http = ScriptedTokenClient([ScriptedTokenClient.json(200, ["access_token": "new"])])
        let session = try AnthropicSubscriptionAuth.session(path: path, tokenURL: "http://t/v1/oauth/token", clientID: "cid",
                                                            http: http, now: now).get()
        #expect(session.token == "new")
        let sent = try #require(http.sent.first)
        #expect(try JSONValue.parse(sent.body) == ["grant_type": "refresh_token", "refresh_token": "rt1", "client_id": "cid"])
        #expect(sent.headers["anthropic-beta"] == "oauth-2025-04-20")
        let saved = try JSONValue.parse(try #require(readWholeFile(path)))
        #expect(saved["claudeAiOauth"]?["accessToken"] == "new")
        #expect(saved["claudeAiOauth"]?["refreshToken"] == "rt1")
        #expect(saved["claudeAiOauth"]?["expiresAt"]?.intValue == Int((now + 3600) * 1000))
        #expect(saved["claudeAiOauth"]?["scopes"] == ["user:inference"])
        #expect(saved["other"] == 1)
        var st = stat()
        stat(path, &st)
        #expect(st.st_mode & 0o777 == 0o640)
        #expect(dir.entries() == ["c.json"])
    }

    @Test(arguments: [
        (#"{"x": 1}"#, "has no claudeAiOauth object"),
        (#"{"claudeAiOauth": {"refreshToken": "r"}}"#, "has no claudeAiOauth.accessToken"),
        (#"{"claudeAiOauth": {"accessToken": "a", "expiresAt": 1000}}"#, "has no claudeAiOauth.refreshToken"),
        ("not json", "is not a JSON object"),
    ])
    func fileProblemsAreNamed(_ text: String, _ expected: String) {
        let dir = TempDir()
        let path = dir.write("c.json", text)
        let result = AnthropicSubscriptionAuth.session(path: path, tokenURL: "http://t", clientID: "c", http: ScriptedTokenClient([]))
        guard case .failure(let f) = result else {
            Issue.record("expected a failure")
            return
        }
        #expect(f.error.message.contains(expected), "\(f.error.message)")
        #expect(f.kind == .auth)
    }

    @Test func aTokenEndpointThatCannotBeReachedIsAConnectionFailure() {
        let dir = TempDir()
        let path = dir.write("c.json", #"{"claudeAiOauth": {"accessToken": "a", "refreshToken": "r", "expiresAt": 1000}}"#)
        let result = AnthropicSubscriptionAuth.session(path: path, tokenURL: "http://t", clientID: "c",
                                                       http: ScriptedTokenClient([.failure(TokenHTTPError("Couldn't connect"))]))
        guard case .failure(let f) = result else {
            Issue.record("expected a failure")
            return
        }
        #expect(f.kind == .connection)
        #expect(f.error.message.contains("Couldn't connect"))
    }

    // MARK: codex

    @Test func codexReadsTheAccountFromTheIDTokenStringOrObject() {
        let claims: JSONValue = ["https://api.openai.com/auth": ["chatgpt_account_id": "acc-1"]]
        let asString = CodexAuth.session(access: "a", tokens: ["id_token": .string(unsignedJWT(claims))], now: 0)
        let asObject = CodexAuth.session(access: "a", tokens: ["id_token": claims], now: 0)
        let explicit = CodexAuth.session(access: "a", tokens: ["id_token": claims, "account_id": "acc-2"], now: 0)
        #expect(asString.headers.first { $0.0 == "ChatGPT-Account-ID" }?.1 == "acc-1")
        #expect(asObject.headers.first { $0.0 == "ChatGPT-Account-ID" }?.1 == "acc-1")
        #expect(explicit.headers.first { $0.0 == "ChatGPT-Account-ID" }?.1 == "acc-2")
    }

    @Test func codexRefreshesAfterEightDaysEvenWithAValidJWT() throws {
        let dir = TempDir()
        let now = wallClockSeconds()
        let access = unsignedJWT(["exp": .int(Int(now) + 3600)])
        let newAccess = unsignedJWT(["exp": .int(Int(now) + 7200)])
        let path = dir.write("auth.json", """
            {"OPENAI_API_KEY": null, "tokens": {"id_token": "x", "access_token": "\(access)", "refresh_token": "r1",
             "account_id": "acc"}, "last_refresh": "\(rfc3339(now - 9 * 86400))"}
            """)
        let http = ScriptedTokenClient([ScriptedTokenClient.json(200, ["access_token": .string(newAccess), "refresh_token": "r2"])])
        let session = try CodexAuth.session(path: path, tokenURL: "http://t", clientID: "cid", http: http, now: now).get()
        #expect(session.token == newAccess)
        #expect(abs((session.expiresAt ?? 0) - Double(Int(now) + 7200)) < 0.01)
        let saved = try JSONValue.parse(try #require(readWholeFile(path)))
        #expect(saved["tokens"]?["refresh_token"] == "r2")
        #expect(saved["tokens"]?["id_token"] == "x")
        #expect(saved["OPENAI_API_KEY"] == .null)
        #expect(saved["last_refresh"]?.stringValue.flatMap(parseRFC3339).map { abs($0 - now) < 1.5 } == true)
    }

    @Test func codexWithAnAPIKeyOnlyIsToldToUseAnOpenAIProvider() {
        let dir = TempDir()
        let path = dir.write("auth.json", #"{"OPENAI_API_KEY": "sk-x"}"#)
        guard case .failure(let f) = CodexAuth.session(path: path, tokenURL: "t", clientID: "c", http: ScriptedTokenClient([])) else {
            Issue.record("expected a failure")
            return
        }
        #expect(f.error.message.contains("holds an API key, not a ChatGPT sign-in"))
    }

    @Test func rfc3339RoundTrips() {
        #expect(rfc3339(0) == "1970-01-01T00:00:00.000Z")
        #expect(parseRFC3339("2026-11-28T13:05:09.123456Z") == 1_795_871_109)
        #expect(parseRFC3339(rfc3339(1_795_871_109.25)) == 1_795_871_109)
        #expect(parseRFC3339("yesterday") == nil)
    }

    // MARK: github_copilot

    @Test func copilotExchangeGivesTokenTimesAndAPIBase() throws {
        let http = ScriptedTokenClient([ScriptedTokenClient.json(200, [
            "token": "tid=1;exp=2:mac", "expires_at": 10_000, "refresh_in": 1500,
            "endpoints": ["api": "https://api.individual.githubcopilot.com/"],
        ])])
        let session = try CopilotAuth.exchange(github: "gho_x", tokenURL: "http://t/copilot_internal/v2/token", http: http,
                                               now: 8000).get()
        #expect(session.token == "tid=1;exp=2:mac")
        #expect(session.baseURL == "https://api.individual.githubcopilot.com")
        #expect(session.expiresAt == 10_000 && session.refreshAt == 9500)
        let sent = try #require(http.sent.first)
        #expect(sent.method == "GET" && sent.headers["Authorization"] == "token gho_x")
        let provider = testProvider(type: "github_copilot").signedIn(session)
        #expect(provider.url(path: "/chat/completions") == "https://api.individual.githubcopilot.com/chat/completions")
        var request = UpstreamRequest(url: "u")
        CopilotAuth().apply(to: &request, provider: provider)
        #expect(request.headers["Authorization"] == "Bearer tid=1;exp=2:mac")
        #expect(request.headers["Copilot-Integration-Id"] == "vscode-chat")
    }

    @Test func copilotExchangeErrorsAreClear() {
        let refused = CopilotAuth.exchange(github: "g", tokenURL: "t", http: ScriptedTokenClient([
            ScriptedTokenClient.json(401, ["message": "Bad credentials"]),
        ]))
        guard case .failure(let f) = refused else {
            Issue.record("expected a failure")
            return
        }
        #expect(f.error.message.contains("refused (401: Bad credentials): run `tollgate login copilot` again"))
        let odd = CopilotAuth.exchange(github: "g", tokenURL: "t", http: ScriptedTokenClient([
            ScriptedTokenClient.json(200, ["token": "t", "endpoints": ["api": "file:///etc/passwd"]]),
        ]))
        guard case .failure(let g) = odd else {
            Issue.record("expected a failure")
            return
        }
        #expect(g.error.message.contains("unusable API base URL"))
    }

    @Test func sessionFreshness() {
        let s = SessionCredential(token: "t", expiresAt: 100, refreshAt: 90)
        #expect(s.isFresh(at: 89) && !s.isFresh(at: 90) && !s.isFresh(at: 101))
        #expect(SessionCredential(token: "t").isFresh(at: 1e12))
    }

    // MARK: GitHub's device flow

    @Test func deviceFlowPollsAtGitHubsInterval() throws {
        let http = ScriptedTokenClient([
            ScriptedTokenClient.json(200, ["device_code": "d", "user_code": "U-1", "verification_uri": "https://g/device",
                                           "expires_in": 900, "interval": 5]),
            ScriptedTokenClient.json(200, ["error": "authorization_pending"]),
            ScriptedTokenClient.json(200, ["error": "slow_down"]),  // no interval given: 5 s more
            ScriptedTokenClient.json(200, ["error": "slow_down", "interval": 15]),
            ScriptedTokenClient.json(200, ["access_token": "gho_1", "token_type": "bearer"]),
        ])
        let waits = Mutex<[Double]>([])
        var flow = GitHubDeviceFlow(http: http, sleep: { s in waits.withLock { $0.append(s) } })
        flow.deviceCodeURL = "http://g/login/device/code"
        flow.accessTokenURL = "http://g/login/oauth/access_token"
        var shown: GitHubDeviceFlow.Prompt?
        let token = try flow.run { shown = $0 }.get()
        #expect(token == "gho_1")
        #expect(shown?.userCode == "U-1" && shown?.verificationURI == "https://g/device")
        #expect(waits.withLock { $0 } == [5, 5, 10, 15])
        let poll = String(decoding: http.sent[1].body, as: UTF8.self)
        #expect(poll.contains("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"))
        #expect(http.sent[0].headers["Accept"] == "application/json")
    }

    @Test(arguments: [("expired_token", "expired"), ("access_denied", "denied"), ("unsupported_grant_type", "unsupported_grant_type")])
    func deviceFlowStops(_ error: String, _ expected: String) {
        let http = ScriptedTokenClient([
            ScriptedTokenClient.json(200, ["device_code": "d", "user_code": "U", "verification_uri": "v", "interval": 0]),
            ScriptedTokenClient.json(200, ["error": .string(error)]),
        ])
        let result = GitHubDeviceFlow(http: http, sleep: { _ in }).run { _ in }
        guard case .failure(let f) = result else {
            Issue.record("expected a failure")
            return
        }
        #expect(f.message.contains(expected))
    }

    // MARK: registry and catalog

    @Test func subscriptionTypesResolveAndCheckTheirChoices() throws {
        let config = try Config.parse(Array("""
            {"providers": {"claude": {"type": "anthropic_subscription"},
                           "codex": {"type": "codex"},
                           "copilot": {"type": "github_copilot"}}}
            """.utf8))
        let (providers, _) = try WireRegistry.resolve(config, environment: [:])
        #expect(providers.allSatisfy { $0.subscription })
        #expect(providers[0].isEnabled && providers[1].isEnabled)
        #expect(providers[1].baseURL == "https://chatgpt.com/backend-api/codex" && providers[1].chat.name == "openai_responses")
        #expect(providers[2].disabledReason?.contains("tollgate login copilot") == true)
        let bad = try Config.parse(Array(#"{"providers": {"c": {"type": "anthropic_subscription", "sign_in": "file"}}}"#.utf8))
        #expect(throws: ConfigError.self) { try WireRegistry.resolve(bad, environment: [:]) }
    }

    @Test func subscriptionModelsCostNothingAndKeepTheirListPrice() {
        let catalog = ModelCatalog(models: [ModelInfo(id: "gpt-x", providerType: "openai", protocolName: "openai_chat",
                                                      inputUSDPerMTok: 2, outputUSDPerMTok: 8, priced: true)])
        let info = catalog.info(provider: "cx", providerType: "codex", protocolName: "openai_responses", model: "gpt-x",
                                overrides: [], subscription: true)
        let usage = Usage(promptTokens: 1_000_000, completionTokens: 1_000_000)
        #expect(info.subscription && info.isFree)
        #expect(info.cost(usage) == 0)
        #expect(info.listCost(usage) == 10)
        let api = catalog.info(provider: "oa", providerType: "openai", protocolName: "openai_chat", model: "gpt-x", overrides: [])
        #expect(api.cost(usage) == 10 && !api.subscription)
    }

    @Test func jwtClaimsAndExpiry() {
        let token = unsignedJWT(["exp": 1_800_000_000, "sub": "a?b>c"])
        #expect(JWT.expiry(token) == 1_800_000_000)
        #expect(JWT.claims(token)?["sub"] == "a?b>c")
        #expect(JWT.expiry("not-a-jwt") == nil)
    }
}
