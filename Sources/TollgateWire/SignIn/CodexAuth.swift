import TollgateCore

/// `codex`: the Codex CLI's ChatGPT sign-in (`auth_file`, default `$CODEX_HOME/auth.json`, else
/// `~/.codex/auth.json`): `tokens.access_token` as the bearer and `tokens.account_id` as
/// `ChatGPT-Account-ID`, over the Responses protocol. The token is refreshed at `token_url`
/// when its JWT `exp` is near or `last_refresh` is over eight days old (Codex's own rule,
/// `codex-rs/login`), and written back atomically with every other field kept.
///
/// Unverified (wire-formats.md §6.2): the `auth_mode` strings (not read here), whether
/// `id_token` is a string or an object (both are read), headers beyond these two.
public struct CodexAuth: AuthStrategy {
    public let name = "codex"
    public init() {}

    public static let defaultTokenURL = "https://auth.openai.com/oauth/token"
    public static let defaultClientID = "app_EMoamEEZ73f0CkXaXp7hrann"
    public static let refreshMargin = 60.0
    public static let maxRefreshAge = 8 * 86400.0

    private let cache = SessionCache()

    public func missingCredential(_ c: ProviderCredentials) -> String? { nil }

    static func path(_ p: ResolvedProvider) -> String {
        if let configured = p.fields["auth_file"], !configured.isEmpty { return TokenFile.expand(configured) }
        if let home = getenvString("CODEX_HOME"), !home.isEmpty { return home + "/auth.json" }
        return TokenFile.expand("~/.codex/auth.json")
    }

    public func readiness(of p: ResolvedProvider) -> AuthReadiness {
        cache.readiness(p.name, source: Self.path(p))
    }

    public func prepare(_ p: ResolvedProvider, http: any TokenHTTPClient) -> Result<SessionCredential, UpstreamFailure> {
        let path = Self.path(p)
        return cache.prepared(p.name, source: path) {
            Self.session(path: path, tokenURL: p.field("token_url", default: Self.defaultTokenURL),
                         clientID: p.field("client_id", default: Self.defaultClientID), http: http,
                         refused: cache.refusedToken(p.name))
        }
    }

    public func apply(to request: inout UpstreamRequest, provider: ResolvedProvider) {
        provider.session?.applyBearer(to: &request)
    }

    public func rejected(_ p: ResolvedProvider, token: String) { cache.reject(p.name, token: token) }

    static func session(path: String, tokenURL: String, clientID: String, http: any TokenHTTPClient,
                        refused: String? = nil, now: Double = wallClockSeconds()) -> Result<SessionCredential, UpstreamFailure> {
        let json: JSONValue
        switch TokenFile.read(path) {
        case .failure(let f): return .failure(f)
        case .success(let j): json = j
        }
        guard let tokens = json["tokens"], tokens.objectValue != nil else {
            let hasKey = json["OPENAI_API_KEY"]?.stringValue.map { !$0.isEmpty } ?? false
            return .failure(.signIn(hasKey
                ? "The Codex sign-in file \(path) holds an API key, not a ChatGPT sign-in: use an openai provider with that key, or run `codex login` with ChatGPT."
                : "The Codex sign-in file \(path) has no tokens object: run `codex login` and sign in with ChatGPT."))
        }
        guard let access = tokens["access_token"]?.stringValue, !access.isEmpty else {
            return .failure(.signIn("The Codex sign-in file \(path) has no tokens.access_token: run `codex login` again."))
        }
        let expiry = JWT.expiry(access)
        let lastRefresh = json["last_refresh"]?.stringValue.flatMap(parseRFC3339)
        let stale = access == refused || (expiry.map { $0 - refreshMargin <= now } ?? false)
            || (lastRefresh.map { now - $0 > maxRefreshAge } ?? false)
        guard stale else { return .success(session(access: access, tokens: tokens, now: now)) }

        guard let refreshToken = tokens["refresh_token"]?.stringValue, !refreshToken.isEmpty else {
            return .failure(.signIn("The Codex token in \(path) needs a refresh and the file has no tokens.refresh_token: run `codex login` again."))
        }
        var request = UpstreamRequest(url: tokenURL, body: JSONValue.object(JSONObject([
            ("client_id", .string(clientID)), ("grant_type", "refresh_token"), ("refresh_token", .string(refreshToken)),
        ])).serialized(), timeoutSeconds: 30)
        request.headers.set("Content-Type", "application/json")
        request.headers.set("Accept", "application/json")
        let response: TokenHTTPResponse
        switch http.send(request) {
        case .failure(let e): return .failure(.tokenEndpoint("Refreshing the Codex token at \(tokenURL) failed", e))
        case .success(let r): response = r
        }
        guard (200..<300).contains(response.status) else {
            // refresh_token_expired / _reused / _invalidated are permanent: a new sign-in is the only way.
            return .failure(.signIn("The Codex token refresh was refused (\(response.status)\(errorDetail(response))): run `codex login` again."))
        }
        guard let answer = response.json, answer.objectValue != nil else {
            return .failure(.signIn("The Codex token refresh at \(tokenURL) did not answer with JSON."))
        }
        guard let newAccess = answer["access_token"]?.stringValue, !newAccess.isEmpty else {
            return .failure(.signIn("The Codex token refresh at \(tokenURL) answered without access_token."))
        }
        // Whichever fields come back replace the stored ones (the refresh token may rotate).
        var updatedTokens = tokens
        for key in ["id_token", "access_token", "refresh_token"] {
            if let value = answer[key]?.stringValue, !value.isEmpty { updatedTokens[key] = .string(value) }
        }
        let written = TokenFile.update(path, fallback: json) { document in
            var current = document["tokens"] ?? tokens
            for key in ["id_token", "access_token", "refresh_token"] { current[key] = updatedTokens[key] }
            document["tokens"] = current
            document["last_refresh"] = .string(rfc3339(now))
        }
        if case .failure(let f) = written { return .failure(f) }
        return .success(session(access: newAccess, tokens: updatedTokens, now: now))
    }

    /// The session of a usable access token. The account id is `tokens.account_id`, else the
    /// `chatgpt_account_id` claim of the id token (a JWT string or its claims already parsed).
    static func session(access: String, tokens: JSONValue, now: Double) -> SessionCredential {
        var headers: [(String, String)] = []
        let idClaims: JSONValue? = tokens["id_token"]?.stringValue.flatMap(JWT.claims) ?? tokens["id_token"]
        let account = tokens["account_id"]?.stringValue
            ?? idClaims?["https://api.openai.com/auth"]?["chatgpt_account_id"]?.stringValue
            ?? JWT.claims(access)?["https://api.openai.com/auth"]?["chatgpt_account_id"]?.stringValue
        if let account, !account.isEmpty { headers.append(("ChatGPT-Account-ID", account)) }
        let expiry = JWT.expiry(access)
        return SessionCredential(token: access, headers: headers, expiresAt: expiry,
                                 refreshAt: expiry.map { $0 - refreshMargin } ?? now + 300)
    }
}
