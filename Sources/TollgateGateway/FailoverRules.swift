import TollgateCore

/// How an upstream failure is classified: worth another provider, or about the request itself.
public enum FailoverRules {
    /// Statuses after which another provider may well succeed.
    public static func isRetryable(status: Int) -> Bool {
        [401, 403, 404, 408, 429, 500, 502, 503, 504, 529].contains(status)
    }

    public static func isContextLengthError(_ error: GatewayError) -> Bool {
        guard error.status == 400 || error.status == 413 || error.status == 422 else { return false }
        if error.code == "context_length_exceeded" { return true }
        let m = error.message.lowercased()
        return m.contains("context length") || m.contains("context window") || m.contains("maximum context")
            || m.contains("prompt is too long") || m.contains("too many tokens") || m.contains("input is too long")
    }
}
