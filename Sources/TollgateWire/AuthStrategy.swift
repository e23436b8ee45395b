import TollgateCore

/// Adds a provider's credentials to an upstream request.
public protocol AuthStrategy: Sendable {
    var name: String { get }
    /// Why the provider cannot authenticate with these credentials (it is then disabled), or nil.
    func missingCredential(_ credentials: ProviderCredentials) -> String?
    func apply(to request: inout UpstreamRequest, provider: ResolvedProvider)
}

/// `Authorization: Bearer KEY` — the fallback for any provider without its own scheme.
public struct BearerAuth: AuthStrategy {
    public let name = "bearer"
    public init() {}
    public func missingCredential(_ c: ProviderCredentials) -> String? { c.apiKey == nil ? c.missing("api_key") : nil }
    public func apply(to request: inout UpstreamRequest, provider: ResolvedProvider) {
        guard let key = provider.credentials.apiKey else { return }
        request.headers.set("Authorization", "Bearer \(key)")
    }
}

/// No credentials at all (local servers).
public struct NoAuth: AuthStrategy {
    public let name = "none"
    public init() {}
    public func missingCredential(_ c: ProviderCredentials) -> String? { nil }
    public func apply(to request: inout UpstreamRequest, provider: ResolvedProvider) {}
}

/// Bearer when a key is configured, nothing otherwise (vLLM started with or without --api-key).
public struct OptionalBearerAuth: AuthStrategy {
    public let name = "optional"
    public init() {}
    public func missingCredential(_ c: ProviderCredentials) -> String? { nil }
    public func apply(to request: inout UpstreamRequest, provider: ResolvedProvider) {
        BearerAuth().apply(to: &request, provider: provider)
    }
}

/// A single header carrying the key: Azure's `api-key`, Google's `x-goog-api-key`,
/// Anthropic's `x-api-key` (plus its required `anthropic-version`).
public struct HeaderKeyAuth: AuthStrategy {
    public let name: String
    public let header: String
    public let extraHeaders: [(String, String)]

    public init(name: String, header: String, extraHeaders: [(String, String)] = []) {
        self.name = name
        self.header = header
        self.extraHeaders = extraHeaders
    }

    public func missingCredential(_ c: ProviderCredentials) -> String? { c.apiKey == nil ? c.missing("api_key") : nil }
    public func apply(to request: inout UpstreamRequest, provider: ResolvedProvider) {
        for (name, value) in extraHeaders where request.headers[name] == nil { request.headers.set(name, value) }
        guard let key = provider.credentials.apiKey else { return }
        request.headers.set(header, key)
    }
}
