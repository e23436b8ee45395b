import TollgateCore

/// A short-lived credential a signing-in strategy obtained: the bearer token, headers that go
/// with it, and the base URL it is valid for (Copilot's exchange names its API host).
public struct SessionCredential: Sendable {
    public var token: String
    public var headers: [(String, String)]
    /// Replaces the provider's base URL for requests made with this session.
    public var baseURL: String?
    /// Wall-clock seconds after which the token must not be used; nil: unknown.
    public var expiresAt: Double?
    /// Wall-clock seconds from which a new token should be fetched (before `expiresAt`).
    public var refreshAt: Double?

    public init(token: String, headers: [(String, String)] = [], baseURL: String? = nil, expiresAt: Double? = nil,
                refreshAt: Double? = nil) {
        self.token = token
        self.headers = headers
        self.baseURL = baseURL
        self.expiresAt = expiresAt
        self.refreshAt = refreshAt
    }

    /// Usable at `now` without new token work.
    public func isFresh(at now: Double = wallClockSeconds()) -> Bool {
        if let refreshAt, now >= refreshAt { return false }
        if let expiresAt, now >= expiresAt { return false }
        return true
    }
}

extension UpstreamFailure {
    /// A sign-in that cannot produce a token: the message says what to do (sign in again, fix a path).
    public static func signIn(_ message: String, status: Int = 401) -> UpstreamFailure {
        UpstreamFailure(kind: .auth, status: status,
                        error: GatewayError(status: status, type: "authentication_error", code: "sign_in_failed", message: message))
    }

    /// The token endpoint could not be reached: retryable like any connection failure.
    static func tokenEndpoint(_ what: String, _ error: TokenHTTPError) -> UpstreamFailure {
        .connection("\(what): \(error.message)", code: "token_endpoint_unreachable")
    }
}
