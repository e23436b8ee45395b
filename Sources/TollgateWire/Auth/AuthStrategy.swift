import TollgateCore

/// Adds a provider's credentials to an upstream request.
///
/// A strategy that signs in (a subscription, an editor's token) may need token work before a
/// request can be built: a refresh, an exchange. The exchange asks `readiness(of:)` on the
/// event loop (a cache lookup, no I/O); on `.needsWork` it runs `prepare` on a worker queue
/// and builds the request when the session is ready. The session may set the base URL.
public protocol AuthStrategy: Sendable {
    var name: String { get }
    /// Why the provider cannot authenticate with these credentials (it is then disabled), or nil.
    func missingCredential(_ credentials: ProviderCredentials) -> String?
    /// Adds the credentials (`provider.session` when the strategy signs in) to a built request.
    func apply(to request: inout UpstreamRequest, provider: ResolvedProvider)
    /// Whether `apply` can run now. Called on the event loop: cheap, no I/O.
    func readiness(of provider: ResolvedProvider) -> AuthReadiness
    /// The token work `readiness` asked for. Blocking (files, HTTP through `http`): never run on an event loop.
    func prepare(_ provider: ResolvedProvider, http: any TokenHTTPClient) -> Result<SessionCredential, UpstreamFailure>
    /// The upstream refused `token` (401): it must not be used again (a revoked or replaced
    /// token is refreshed or exchanged anew, even before it says it expires).
    func rejected(_ provider: ResolvedProvider, token: String)
}

extension AuthStrategy {
    public func readiness(of provider: ResolvedProvider) -> AuthReadiness { .ready(nil) }
    public func prepare(_ provider: ResolvedProvider, http: any TokenHTTPClient) -> Result<SessionCredential, UpstreamFailure> {
        .success(SessionCredential(token: ""))
    }
    public func rejected(_ provider: ResolvedProvider, token: String) {}
}

/// What an attempt needs before its request can be built.
public enum AuthReadiness: Sendable {
    /// Build it now, with this session (nil: the strategy needs none).
    case ready(SessionCredential?)
    /// Token work first (`AuthStrategy.prepare`, off the loop).
    case needsWork
    /// This attempt cannot authenticate (e.g. no bearer from the client): fail it over.
    case failed(UpstreamFailure)
}
