import TollgateCore

extension UpstreamFailure {
    /// An upstream error classified by what its body says (`overloaded_error`, `RESOURCE_EXHAUSTED`,
    /// `ThrottlingException`…) when that says more than the status; `signal` nil classifies by status
    /// and context-length wording alone.
    static func http(status: Int, error: GatewayError, signal: Kind?) -> UpstreamFailure {
        guard let signal else { return .http(status: status, error: error) }
        return UpstreamFailure(kind: signal, status: status, error: error)
    }
}
