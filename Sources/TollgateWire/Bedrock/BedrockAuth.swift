import TollgateCore

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
