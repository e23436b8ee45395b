import TollgateCore

/// Anthropic's error bodies and `error` events → one classified failure (wire-formats.md §3.4).
extension AnthropicMessages {
    /// `{"type":"error","error":{"type","message"}}` → the upstream status, the provider's error type
    /// and message, and `retry-after`, classified by the error type where it says more than the status
    /// (`overloaded_error`, `rate_limit_error`). Other bodies (a proxy's) are read as OpenAI-style or plain text.
    public func decodeFailure(status: Int, headers: HTTPHeaders, body: [UInt8]) -> UpstreamFailure {
        let json = try? JSONValue.parse(body)
        guard let json, let error = Self.errorObject(json) else {
            return .http(status: status, error: OpenAIChat.error(from: json, status: status, headers: headers, rawBody: body))
        }
        var gatewayError = Self.error(error, status: status)
        gatewayError.retryAfter = RetryAfter.seconds(headers)
        return .http(status: status, error: gatewayError, signal: Self.signal(errorType: error["type"]?.stringValue))
    }

    /// What an Anthropic error type says beyond the status; nil leaves it to the status and wording.
    static func signal(errorType: String?) -> UpstreamFailure.Kind? {
        switch errorType {
        case "overloaded_error": .overloaded
        case "rate_limit_error": .rateLimited
        case "timeout_error": .timeout
        case "authentication_error", "permission_error": .auth
        case "not_found_error": .notFound
        case "api_error": .serverError
        default: nil  // invalid_request_error, request_too_large: the status and the wording decide
        }
    }

    /// The `error` object of an Anthropic error body, when `json` is one.
    static func errorObject(_ json: JSONValue) -> JSONValue? {
        guard json["type"]?.stringValue == "error", let error = json["error"], error["message"]?.stringValue != nil
        else { return nil }
        return error
    }

    /// An Anthropic `error` object as a GatewayError. `details.error_code` (a spend-limit 429) becomes the code.
    static func error(_ error: JSONValue, status: Int) -> GatewayError {
        GatewayError(status: status, type: error["type"]?.stringValue ?? GatewayError.openAIType(forStatus: status),
                     code: error["details"]?["error_code"]?.stringValue,
                     message: error["message"]?.stringValue ?? "The upstream reported an error.")
    }

    /// The status an error reported under HTTP 200 (a mid-stream `error` event) stands for:
    /// overload 529, rate limit 429, timeout 504, anything else 502.
    static func status(forStreamError type: String?) -> Int {
        switch type {
        case "overloaded_error": 529
        case "rate_limit_error": 429
        case "timeout_error": 504
        default: 502
        }
    }
}
