import TollgateCore

/// Bearer when a key is configured, nothing otherwise (vLLM started with or without --api-key).
public struct OptionalBearerAuth: AuthStrategy {
    public let name = "optional"
    public init() {}
    public func missingCredential(_ c: ProviderCredentials) -> String? { nil }
    public func apply(to request: inout UpstreamRequest, provider: ResolvedProvider) {
        BearerAuth().apply(to: &request, provider: provider)
    }
}
