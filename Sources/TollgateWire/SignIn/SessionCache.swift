import Synchronization
import TollgateCore

/// Sessions of the providers a signing-in strategy serves, by provider name, each with the
/// source it came from (a file path, a token): a changed source after a reload is a miss.
/// Shared by every loop and worker; one lock, held only for a lookup or a store.
final class SessionCache: Sendable {
    private struct Entry { var source: String; var session: SessionCredential }
    private let entries = Mutex<[String: Entry]>([:])
    /// The last token an upstream refused, per provider.
    private let refused = Mutex<[String: String]>([:])

    /// The cached session when it needs no token work at `now`.
    func fresh(_ provider: String, source: String, now: Double = wallClockSeconds()) -> SessionCredential? {
        entries.withLock { all in
            guard let e = all[provider], e.source == source, e.session.isFresh(at: now) else { return nil }
            return e.session
        }
    }

    /// Readiness from the cache: a fresh session, else token work.
    func readiness(_ provider: String, source: String) -> AuthReadiness {
        fresh(provider, source: source).map { .ready($0) } ?? .needsWork
    }

    /// A fresh session (another request may just have made one: a provider's requests prepare
    /// one at a time), else `make`'s, kept when it succeeds.
    func prepared(_ provider: String, source: String, make: () -> Result<SessionCredential, UpstreamFailure>)
        -> Result<SessionCredential, UpstreamFailure>
    {
        if let fresh = fresh(provider, source: source) { return .success(fresh) }
        let result = make()
        if case .success(let session) = result { store(provider, source: source, session) }
        return result
    }

    func store(_ provider: String, source: String, _ session: SessionCredential) {
        entries.withLock { $0[provider] = Entry(source: source, session: session) }
    }

    /// Forgets the session holding `token` and remembers that the upstream refused it.
    func reject(_ provider: String, token: String) {
        entries.withLock { all in
            if all[provider]?.session.token == token { all[provider] = nil }
        }
        refused.withLock { $0[provider] = token }
    }

    /// The last token the upstream refused for `provider`, if any.
    func refusedToken(_ provider: String) -> String? { refused.withLock { $0[provider] } }
}

extension SessionCredential {
    /// `Authorization: Bearer TOKEN` plus the session's headers (those the request does not set already).
    func applyBearer(to request: inout UpstreamRequest) {
        request.headers.set("Authorization", "Bearer \(token)")
        for (name, value) in headers where request.headers[name] == nil { request.headers.set(name, value) }
    }
}

extension ResolvedProvider {
    /// A string field of the provider's config, or `fallback` when it is absent or empty.
    func field(_ name: String, default fallback: String) -> String {
        guard let value = fields[name], !value.isEmpty else { return fallback }
        return value
    }
}
