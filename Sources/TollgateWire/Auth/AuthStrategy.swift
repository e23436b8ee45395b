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

/// Bedrock: a Bedrock API key as `Authorization: Bearer`, else AWS SigV4 with an access key pair,
/// described as curl's `CURLOPT_AWS_SIGV4 = aws:amz:REGION:bedrock` (the signing name is `bedrock`,
/// not the host's `bedrock-runtime`). `UpstreamClient` has curl sign it (≥ 8.14) or signs it with
/// `SigV4`. A session token goes in `x-amz-security-token`, which is signed.
public struct BedrockAuth: AuthStrategy {
    public let name = "bedrock"
    public init() {}

    public func missingCredential(_ c: ProviderCredentials) -> String? {
        if c.apiKey != nil || (c.accessKeyID != nil && c.secretAccessKey != nil) { return nil }
        let pair = [c.accessKeyID == nil ? c.missing("access_key_id") : nil,
                    c.secretAccessKey == nil ? c.missing("secret_access_key") : nil].compactMap { $0 }
        return "needs api_key (a Bedrock API key) or access_key_id and secret_access_key ("
            + ([c.missing("api_key")] + pair).joined(separator: "; ") + ")"
    }

    public func apply(to request: inout UpstreamRequest, provider: ResolvedProvider) {
        let c = provider.credentials
        if let key = c.apiKey {
            request.headers.set("Authorization", "Bearer \(key)")
        } else if let accessKey = c.accessKeyID, let secretKey = c.secretAccessKey {
            request.awsSigV4 = "aws:amz:\(Self.region(of: provider)):bedrock"
            request.awsCredentials = (accessKey, secretKey)
            if let token = c.sessionToken { request.headers.set("x-amz-security-token", token) }
        }
    }

    /// The `region` field, else the second label of a `bedrock-runtime.REGION.amazonaws.com` host.
    static func region(of provider: ResolvedProvider) -> String {
        if let region = provider.fields["region"], !region.isEmpty { return region }
        let host = provider.baseURL.split(separator: "/").dropFirst().first ?? ""
        let labels = host.split(separator: ".")
        return labels.count > 2 ? String(labels[1]) : "us-east-1"
    }
}
