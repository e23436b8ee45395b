import TollgateCore

/// `github_copilot`: the GitHub token `tollgate login copilot` stored (the provider's `api_key`)
/// is exchanged at `token_url` (`GET …/copilot_internal/v2/token`, `Authorization: token GH`)
/// for a short-lived Copilot token, cached until its `refresh_in` (or a minute before
/// `expires_at`); requests go to the `endpoints.api` base the exchange returns.
///
/// Unverified (wire-formats.md §6.1): the exchange URL and its editor headers are from
/// third-party code and comments in vscode-copilot-chat; an answer without `token` or with an
/// unusable `endpoints.api` is refused with a clear error rather than guessed around.
public struct CopilotAuth: AuthStrategy {
    public let name = "github_copilot"
    public init() {}

    public static let defaultTokenURL = "https://api.github.com/copilot_internal/v2/token"
    public static let editorHeaders: [(String, String)] = [
        ("Editor-Version", "vscode/1.99.3"), ("Editor-Plugin-Version", "copilot-chat/0.26.7"),
        ("User-Agent", "GitHubCopilotChat/0.26.7"),
    ]

    private let cache = SessionCache()

    public func missingCredential(_ c: ProviderCredentials) -> String? {
        c.apiKey == nil ? c.missing("api_key") + " (the GitHub token: run `tollgate login copilot`)" : nil
    }

    public func readiness(of p: ResolvedProvider) -> AuthReadiness {
        guard let github = p.credentials.apiKey else { return .failed(.signIn("No GitHub token: run `tollgate login copilot`.")) }
        return cache.readiness(p.name, source: github)
    }

    public func prepare(_ p: ResolvedProvider, http: any TokenHTTPClient) -> Result<SessionCredential, UpstreamFailure> {
        guard let github = p.credentials.apiKey else { return .failure(.signIn("No GitHub token: run `tollgate login copilot`.")) }
        return cache.prepared(p.name, source: github) {
            Self.exchange(github: github, tokenURL: p.field("token_url", default: Self.defaultTokenURL), http: http)
        }
    }

    public func apply(to request: inout UpstreamRequest, provider: ResolvedProvider) {
        provider.session?.applyBearer(to: &request)
    }

    /// A refused Copilot token is exchanged anew on the next request.
    public func rejected(_ p: ResolvedProvider, token: String) { cache.reject(p.name, token: token) }

    static func exchange(github: String, tokenURL: String, http: any TokenHTTPClient,
                         now: Double = wallClockSeconds()) -> Result<SessionCredential, UpstreamFailure> {
        var request = UpstreamRequest(method: "GET", url: tokenURL, timeoutSeconds: 30)
        request.headers.set("Authorization", "token \(github)")
        request.headers.set("Accept", "application/json")
        request.headers.set("X-GitHub-Api-Version", "2025-04-01")
        for (name, value) in editorHeaders { request.headers.set(name, value) }
        let response: TokenHTTPResponse
        switch http.send(request) {
        case .failure(let e): return .failure(.tokenEndpoint("The Copilot token exchange at \(tokenURL) failed", e))
        case .success(let r): response = r
        }
        guard (200..<300).contains(response.status) else {
            let json = response.json
            let detail = json?["error_details"]?["message"]?.stringValue ?? json?["message"]?.stringValue
            let notice = json?["error_details"]?["notification_id"]?.stringValue
            let what = [detail, notice.map { "(\($0))" }].compactMap { $0 }.joined(separator: " ")
            let hint = response.status == 401 ? ": run `tollgate login copilot` again" : ""
            return .failure(.signIn("The Copilot token exchange was refused (\(response.status)\(what.isEmpty ? "" : ": " + what))\(hint).",
                                    status: response.status == 403 ? 403 : 401))
        }
        guard let json = response.json, let token = json["token"]?.stringValue, !token.isEmpty else {
            return .failure(.signIn("The Copilot token exchange at \(tokenURL) answered without a token."))
        }
        // Absent or odd times: a short life, so a new exchange comes soon.
        let expiresAt = json["expires_at"]?.doubleValue ?? now + 600
        let refreshAt = json["refresh_in"]?.doubleValue.map { now + $0 } ?? expiresAt - 60
        var base: String?
        if let api = json["endpoints"]?["api"]?.stringValue {
            guard api.hasPrefix("https://") || api.hasPrefix("http://") else {
                return .failure(.signIn("The Copilot token exchange returned an unusable API base URL."))
            }
            var trimmed = api
            while trimmed.hasSuffix("/") { trimmed.removeLast() }
            base = trimmed
        }
        var headers = editorHeaders
        headers += [("Copilot-Integration-Id", "vscode-chat"), ("Openai-Intent", "conversation-panel"),
                    ("X-GitHub-Api-Version", "2025-05-01")]
        return .success(SessionCredential(token: token, headers: headers, baseURL: base, expiresAt: expiresAt,
                                          refreshAt: min(refreshAt, expiresAt - 60)))
    }
}
