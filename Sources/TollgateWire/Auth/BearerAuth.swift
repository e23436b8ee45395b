import TollgateCore

/// `Authorization: Bearer KEY` — the fallback for any provider without its own scheme.
public struct BearerAuth: AuthStrategy {
    public let name = "bearer"
    public init() {}
    public func missingCredential(_ c: ProviderCredentials) -> String? { c.apiKey == nil ? c.missing("api_key") : nil }
    public func apply(to request: inout UpstreamRequest, provider: ResolvedProvider) {
        guard let value = provider.credentials.bearerAuthorization else { return }
        request.headers.set("Authorization", value)
    }
}
