import TollgateCore
import TollgateWire

/// One attempt's target: a provider, the model id it is asked for, and what the catalog knows.
/// Immutable and shared (a plan's candidates are cached and handed to every request for that
/// model), so passing one around is a retain, not a copy of the provider and model info.
public final class Candidate: Sendable {
    public let provider: ResolvedProvider
    public let model: String
    public let info: ModelInfo
    /// Candidates of equal tier share the load (see `BalanceMode`); lower tiers are tried first.
    public let tier: Int
    /// The provider's `weight` among its tier.
    public let weight: Double

    init(provider: ResolvedProvider, model: String, info: ModelInfo, tier: Int = 0, weight: Double = 1) {
        self.provider = provider
        self.model = model
        self.info = info
        self.tier = tier
        self.weight = weight
    }

    /// The same candidate with another provider (a client's key, an attempt's sign-in).
    func with(provider: ResolvedProvider) -> Candidate {
        Candidate(provider: provider, model: model, info: info, tier: tier, weight: weight)
    }

    /// For one attempt: the provider carries `bearer`, the client's token (nil: none). Itself when unchanged.
    func passing(bearer: String?) -> Candidate {
        guard bearer != provider.clientBearer else { return self }
        var p = provider
        p.clientBearer = bearer
        return with(provider: p)
    }

    /// For one attempt: the provider signed in to `session`. Itself when there is no session.
    func signedIn(_ session: SessionCredential?) -> Candidate {
        guard let session else { return self }
        return with(provider: provider.signedIn(session))
    }
}
