/// Why one upstream attempt did not produce an answer, classified once: every protocol's
/// error decoder and the transfer layer produce one of these, and one policy
/// (`FailoverPolicy` in the gateway) decides from its `kind` what happens next.
public struct UpstreamFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// 429: the provider asks to slow down (often with a retry-after).
        case rateLimited = "rate_limited"
        /// 503 / 529: the provider is overloaded or temporarily unavailable.
        case overloaded
        /// 500, 502 and other 5xx: the provider broke.
        case serverError = "server_error"
        /// 401 / 403: the key is wrong or lacks access (another provider may well work).
        case auth
        /// 404: this provider does not know the model or the path.
        case notFound = "not_found"
        /// 400, 413, 422…: the request itself is wrong; no provider will take it.
        case badRequest = "bad_request"
        /// The prompt does not fit the model's context window.
        case contextLength = "context_length"
        /// 408 / 504, or nothing arrived in time.
        case timeout
        /// The connection could not be made or broke before an answer.
        case connection
        /// The answer broke off after it had started reaching the client.
        case cutMidStream = "cut_mid_stream"
        /// The upstream answered with something that is not a valid answer (bad status line, bad JSON).
        case badResponse = "bad_response"
        /// The upstream's answer is larger than tollgate accepts.
        case answerTooLarge = "answer_too_large"
    }

    public var kind: Kind
    /// The upstream HTTP status, or 0 when none arrived.
    public var status: Int
    /// Seconds the provider asked to wait (`retry-after`, `retry-after-ms`, or a body hint).
    public var retryAfter: Double?
    /// What the client sees if this failure is returned as it is.
    public var error: GatewayError

    public init(kind: Kind, status: Int = 0, retryAfter: Double? = nil, error: GatewayError) {
        self.kind = kind
        self.status = status
        self.retryAfter = retryAfter ?? error.retryAfter
        self.error = error
        if self.error.retryAfter == nil { self.error.retryAfter = self.retryAfter }
    }

    public var description: String { "\(kind.rawValue) (\(status)): \(error.message)" }

    /// Classifies an upstream error status and the error a protocol decoded from its body.
    public static func http(status: Int, error: GatewayError) -> UpstreamFailure {
        UpstreamFailure(kind: kind(status: status, error: error), status: status, error: error)
    }

    public static func kind(status: Int, error: GatewayError) -> Kind {
        if isContextLength(status: status, error: error) { return .contextLength }
        switch status {
        case 429: return .rateLimited
        case 503, 529: return .overloaded
        case 401, 403: return .auth
        case 404: return .notFound
        case 408, 504: return .timeout
        case 500..<600: return .serverError
        case 400..<500: return .badRequest
        default: return .badResponse
        }
    }

    /// A 400/413/422 whose code or message says the prompt is too long for the model.
    static func isContextLength(status: Int, error: GatewayError) -> Bool {
        guard status == 400 || status == 413 || status == 422 else { return false }
        if error.code == "context_length_exceeded" { return true }
        let m = error.message.lowercased()
        return m.contains("context length") || m.contains("context window") || m.contains("maximum context")
            || m.contains("prompt is too long") || m.contains("too many tokens") || m.contains("input is too long")
    }

    // MARK: failures tollgate observes itself

    public static func timedOut(_ message: String) -> UpstreamFailure {
        UpstreamFailure(kind: .timeout, error: .gatewayTimeout(message))
    }
    public static func connection(_ message: String, code: String = "upstream_unreachable") -> UpstreamFailure {
        UpstreamFailure(kind: .connection, error: .badGateway(message, code: code))
    }
    public static func badResponse(_ message: String, status: Int = 0) -> UpstreamFailure {
        UpstreamFailure(kind: .badResponse, status: status, error: .badGateway(message))
    }
    public static func cutMidStream(_ message: String) -> UpstreamFailure {
        UpstreamFailure(kind: .cutMidStream, error: .badGateway(message, code: "upstream_stream_interrupted"))
    }
    public static func answerTooLarge(_ message: String) -> UpstreamFailure {
        UpstreamFailure(kind: .answerTooLarge, error: .badGateway(message))
    }
}
