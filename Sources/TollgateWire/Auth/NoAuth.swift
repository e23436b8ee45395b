import TollgateCore

/// No credentials at all (local servers).
public struct NoAuth: AuthStrategy {
    public let name = "none"
    public init() {}
    public func missingCredential(_ c: ProviderCredentials) -> String? { nil }
    public func apply(to request: inout UpstreamRequest, provider: ResolvedProvider) {}
}
