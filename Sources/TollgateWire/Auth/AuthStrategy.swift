import TollgateCore

/// Adds a provider's credentials to an upstream request.
public protocol AuthStrategy: Sendable {
    var name: String { get }
    /// Why the provider cannot authenticate with these credentials (it is then disabled), or nil.
    func missingCredential(_ credentials: ProviderCredentials) -> String?
    func apply(to request: inout UpstreamRequest, provider: ResolvedProvider)
}
