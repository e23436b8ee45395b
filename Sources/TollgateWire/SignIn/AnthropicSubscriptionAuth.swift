import TollgateCore

/// `anthropic_subscription`: a Claude subscription's OAuth bearer token instead of an API key.
///
/// - `sign_in: "client"` (the default): the bearer token Claude Code itself sends to tollgate's
///   `/v1/messages` goes upstream for that request only; tollgate stores nothing.
/// - `sign_in: "claude_code"`: Claude Code's own sign-in file (`credentials_file`, default
///   `~/.claude/.credentials.json`, `{"claudeAiOauth": {"accessToken", "refreshToken",
///   "expiresAt" (ms)}}`) is read; the token is refreshed at `token_url` before it expires and
///   written back atomically, other fields kept.
///
/// Either way the request carries `anthropic-beta: oauth-2025-04-20` (merged into the client's
/// betas), which the Messages API requires of OAuth tokens (Anthropic SDK,
/// `lib/credentials/_constants.py`). The file layout, client id and token URL are not
/// documented by Anthropic (wire-formats.md §3.5): each missing piece is reported by name.
public struct AnthropicSubscriptionAuth: AuthStrategy {
    public let name = "anthropic_subscription"
    public init() {}

    public static let oauthBeta = "oauth-2025-04-20"
    public static let defaultFile = "~/.claude/.credentials.json"
    public static let defaultTokenURL = "https://console.anthropic.com/v1/oauth/token"
    public static let defaultClientID = "9d1c250a-e61b-44d9-88ed-5944d1962f5e"
    /// A token is refreshed this long before it expires.
    public static let refreshMargin = 300.0

    private let cache = SessionCache()

    public func missingCredential(_ c: ProviderCredentials) -> String? { nil }

    static func usesFile(_ p: ResolvedProvider) -> Bool { p.field("sign_in", default: "client") == "claude_code" }
    static func path(_ p: ResolvedProvider) -> String { TokenFile.expand(p.field("credentials_file", default: defaultFile)) }

    public func readiness(of p: ResolvedProvider) -> AuthReadiness {
        guard Self.usesFile(p) else {
            guard let bearer = p.clientBearer, !bearer.isEmpty else {
                return .failed(.signIn("Provider \"\(p.name)\" (anthropic_subscription) passes through the bearer token of Claude Code's sign-in, and this request carries none: send it to /v1/messages with Authorization: Bearer (Claude Code does when signed in with a subscription), or set \"sign_in\": \"claude_code\"."))
            }
            return .ready(SessionCredential(token: bearer))
        }
        return cache.readiness(p.name, source: Self.path(p))
    }

    public func prepare(_ p: ResolvedProvider, http: any TokenHTTPClient) -> Result<SessionCredential, UpstreamFailure> {
        let path = Self.path(p)
        return cache.prepared(p.name, source: path) {
            Self.session(path: path, tokenURL: p.field("token_url", default: Self.defaultTokenURL),
                         clientID: p.field("client_id", default: Self.defaultClientID), http: http,
                         refused: cache.refusedToken(p.name))
        }
    }

    public func rejected(_ p: ResolvedProvider, token: String) {
        // A client's own bearer is its business; only the file's token is tollgate's to replace.
        if Self.usesFile(p) { cache.reject(p.name, token: token) }
    }

    /// Reads the file; refreshes (and writes back) when the token expires within the margin, or
    /// is the one the API last `refused`.
    static func session(path: String, tokenURL: String, clientID: String, http: any TokenHTTPClient,
                        refused: String? = nil, now: Double = wallClockSeconds()) -> Result<SessionCredential, UpstreamFailure> {
        let json: JSONValue
        switch TokenFile.read(path) {
        case .failure(let f): return .failure(f)
        case .success(let j): json = j
        }
        let stored: Stored
        switch Stored.parse(json, path: path) {
        case .failure(let f): return .failure(f)
        case .success(let s): stored = s
        }
        let wasRefused = stored.accessToken == refused
        guard wasRefused || stored.expiresAt.map({ $0 - refreshMargin <= now }) == true else {
            return .success(stored.session)
        }
        guard let refreshToken = stored.refreshToken else {
            return .failure(.signIn("The Claude Code token in \(path) has \(wasRefused ? "been refused by the API" : "expired") and the file has no claudeAiOauth.refreshToken: sign in again with `claude`."))
        }
        var request = UpstreamRequest(url: tokenURL, body: JSONValue.object(JSONObject([
            ("grant_type", "refresh_token"), ("refresh_token", .string(refreshToken)), ("client_id", .string(clientID)),
        ])).serialized(), timeoutSeconds: 30)
        request.headers.set("Content-Type", "application/json")
        request.headers.set("Accept", "application/json")
        request.headers.set("anthropic-beta", oauthBeta)
        let response: TokenHTTPResponse
        switch http.send(request) {
        case .failure(let e): return .failure(.tokenEndpoint("Refreshing the Claude Code token at \(tokenURL) failed", e))
        case .success(let r): response = r
        }
        guard (200..<300).contains(response.status) else {
            return .failure(.signIn("The Claude Code token refresh was refused (\(response.status)\(errorDetail(response))): sign in again with `claude`."))
        }
        guard let answer = response.json, let access = answer["access_token"]?.stringValue, !access.isEmpty else {
            return .failure(.signIn("The Claude Code token refresh at \(tokenURL) answered without access_token."))
        }
        // The SDK's rules: one hour when expires_in is absent; the old refresh token when no new one comes.
        let lifetime = answer["expires_in"]?.doubleValue ?? 3600
        let newExpiry = now + lifetime
        let written = TokenFile.update(path, fallback: json) { document in
            var oauth = document["claudeAiOauth"]?.objectValue ?? JSONObject()
            oauth["accessToken"] = .string(access)
            if let rotated = answer["refresh_token"]?.stringValue, !rotated.isEmpty { oauth["refreshToken"] = .string(rotated) }
            oauth["expiresAt"] = .int(Int(newExpiry * 1000))
            document["claudeAiOauth"] = .object(oauth)
        }
        if case .failure(let f) = written { return .failure(f) }
        return .success(SessionCredential(token: access, expiresAt: newExpiry, refreshAt: newExpiry - refreshMargin))
    }

    /// What the file holds.
    struct Stored {
        var accessToken: String
        var refreshToken: String?
        /// Seconds; nil when the file does not say (the token is then used as it is).
        var expiresAt: Double?

        static func parse(_ json: JSONValue, path: String) -> Result<Stored, UpstreamFailure> {
            guard let oauth = json["claudeAiOauth"], oauth.objectValue != nil else {
                return .failure(.signIn("The sign-in file \(path) has no claudeAiOauth object: sign in to Claude Code with a subscription (`claude`, then /login)."))
            }
            guard let access = oauth["accessToken"]?.stringValue, !access.isEmpty else {
                return .failure(.signIn("The sign-in file \(path) has no claudeAiOauth.accessToken."))
            }
            return .success(Stored(accessToken: access, refreshToken: oauth["refreshToken"]?.stringValue,
                                   expiresAt: oauth["expiresAt"]?.doubleValue.map { $0 / 1000 }))
        }

        var session: SessionCredential {
            SessionCredential(token: accessToken, expiresAt: expiresAt,
                              refreshAt: expiresAt.map { $0 - AnthropicSubscriptionAuth.refreshMargin }
                                  // Unknown expiry: read the file again now and then (Claude Code may have refreshed it).
                                  ?? wallClockSeconds() + 300)
        }
    }

    public func apply(to request: inout UpstreamRequest, provider: ResolvedProvider) {
        guard let session = provider.session else { return }
        request.headers.remove("x-api-key")
        request.headers.set("Authorization", "Bearer \(session.token)")
        if request.headers["anthropic-version"] == nil { request.headers.set("anthropic-version", AnthropicMessages.apiVersion) }
        request.headers.set("anthropic-beta", Self.mergingBeta(request.headers["anthropic-beta"].map { String($0) }))
    }

    /// The client's betas plus the OAuth one, each flag once.
    static func mergingBeta(_ existing: String?) -> String {
        var flags: [String] = []
        for flag in (existing ?? "").split(separator: ",") {
            let f = String(flag).trimmingWhitespace()
            if !f.isEmpty, !flags.contains(f) { flags.append(f) }
        }
        if !flags.contains(oauthBeta) { flags.append(oauthBeta) }
        return flags.joined(separator: ",")
    }
}

/// `: reason` from an OAuth error body (`error`, `error_description`, `error.code`), or nothing.
func errorDetail(_ response: TokenHTTPResponse) -> String {
    guard let json = response.json else { return "" }
    let parts = [json["error"]?.stringValue, json["error"]?["code"]?.stringValue, json["code"]?.stringValue,
                 json["error_description"]?.stringValue, json["error"]?["message"]?.stringValue,
                 json["message"]?.stringValue].compactMap { $0 }
    return parts.isEmpty ? "" : ": " + parts.prefix(2).joined(separator: ", ")
}
