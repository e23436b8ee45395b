import TollgateCore

/// Bedrock Runtime's RestJSON errors and stream exceptions, shared by `bedrock_converse` and
/// `bedrock_embed` (https://docs.aws.amazon.com/bedrock/latest/APIReference/CommonErrors.html).
extension Bedrock {
    /// An error answer as one classified failure: the exception name says more than the status
    /// (throttling is sometimes a 400; `ModelNotReadyException` is a 429 that means "overloaded").
    static func failure(status: Int, headers: HTTPHeaders, body: [UInt8]) -> UpstreamFailure {
        let error = self.error(status: status, headers: headers, body: body)
        return .http(status: status, error: error, signal: signal(error))
    }

    /// What an exception name (kept as the error's type) says beyond the status.
    static func signal(_ error: GatewayError) -> UpstreamFailure.Kind? {
        switch error.type {
        case "ThrottlingException", "ServiceQuotaExceededException": return .rateLimited
        case "ServiceUnavailableException", "ModelNotReadyException": return .overloaded
        case "ModelTimeoutException": return .timeout
        case "AccessDeniedException", "UnrecognizedClientException", "ExpiredTokenException": return .auth
        case "ResourceNotFoundException": return .notFound
        case "InternalServerException", "ModelErrorException": return .serverError
        case "ValidationException": return isContextLength(error.message) ? .contextLength : .badRequest
        default: return nil
        }
    }

    /// The wordings Bedrock's models use for a prompt too long for their context window
    /// ("Input is too long for requested model.", "prompt is too long: 210000 tokens > 200000 maximum").
    static func isContextLength(_ message: String) -> Bool {
        let m = message.lowercased()
        return m.contains("too long") || m.contains("context window") || m.contains("context length")
            || m.contains("maximum context") || m.contains("too many input tokens")
            || (m.contains("exceeds") && m.contains("tokens"))
    }

    /// A RestJSON error answer: status, `{"message": ...}` (or `Message`) and the exception name
    /// from `X-Amzn-ErrorType` (`ThrottlingException:http://...`) or the body's `__type`/`code`.
    public static func error(status: Int, headers: HTTPHeaders, body: [UInt8]) -> GatewayError {
        let json = try? JSONValue.parse(body)
        var type = headers["x-amzn-errortype"]
            ?? json?["__type"]?.stringValue ?? json?["code"]?.stringValue ?? json?["Code"]?.stringValue
        if let raw = type {
            let name = raw.split(separator: ":", maxSplits: 1).first.map(String.init) ?? raw
            type = name.split(separator: "#").last.map(String.init) ?? name
        }
        let message = json?["message"]?.stringValue ?? json?["Message"]?.stringValue
            ?? PlainTextError.message(status: status, body: body)
        // AWS documents throttling as 400 in places; clients and failover need 429.
        let isThrottling = type == "ThrottlingException"
        let effectiveStatus = isThrottling ? 429 : status
        return GatewayError(status: effectiveStatus,
                            type: type.flatMap { $0.isEmpty ? nil : $0 } ?? GatewayError.openAIType(forStatus: effectiveStatus),
                            code: isThrottling ? "rate_limit_exceeded" : nil, message: message,
                            retryAfter: RetryAfter.seconds(headers))
    }

    /// An exception sent inside a ConverseStream (`:exception-type` such as `throttlingException`).
    /// Rate limits stay 429, unavailability 503, validation 400; anything else is a 502.
    public static func streamError(type: String, message: String?) -> GatewayError {
        let status: Int
        var code: String?
        switch type.lowercased() {
        case "throttlingexception":
            status = 429
            code = "rate_limit_exceeded"
        case "serviceunavailableexception": status = 503
        case "validationexception": status = 400
        default: status = 502
        }
        let text = message.flatMap { $0.isEmpty ? nil : $0 } ?? "The upstream stream failed with \(type)."
        return GatewayError(status: status, type: type.isEmpty ? GatewayError.openAIType(forStatus: status) : type,
                            code: code, message: text)
    }
}
