import TollgateCore

/// Adds a provider's credentials to an upstream request.
public protocol AuthStrategy: Sendable {
    var name: String { get }
    /// True when a provider using this strategy cannot work without a credential.
    var requiresCredential: Bool { get }
    func apply(to request: inout UpstreamRequest, credential: String?)
}

/// `Authorization: Bearer KEY` — the fallback for any provider without its own scheme.
public struct BearerAuth: AuthStrategy {
    public let name = "bearer"
    public let requiresCredential = true
    public init() {}
    public func apply(to request: inout UpstreamRequest, credential: String?) {
        guard let credential else { return }
        request.headers.set("Authorization", "Bearer \(credential)")
    }
}

/// No credentials at all (local servers).
public struct NoAuth: AuthStrategy {
    public let name = "none"
    public let requiresCredential = false
    public init() {}
    public func apply(to request: inout UpstreamRequest, credential: String?) {}
}

/// Bearer when a credential is configured, nothing otherwise (vLLM started with or without --api-key).
public struct OptionalBearerAuth: AuthStrategy {
    public let name = "optional"
    public let requiresCredential = false
    public init() {}
    public func apply(to request: inout UpstreamRequest, credential: String?) {
        BearerAuth().apply(to: &request, credential: credential)
    }
}
