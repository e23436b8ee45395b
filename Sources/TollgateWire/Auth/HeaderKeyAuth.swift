import TollgateCore

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
