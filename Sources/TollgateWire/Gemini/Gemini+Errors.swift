import TollgateCore

/// The Gemini API's error body `{"error":{"code","message","status","details"}}`, shared by
/// `google_gemini` and `gemini_embed` (https://ai.google.dev/gemini-api/docs/troubleshooting).
extension Gemini {
    /// An error answer as one classified failure: `status` names the kind where it says more
    /// than the HTTP status (`RESOURCE_EXHAUSTED`, `UNAVAILABLE`…), and `RetryInfo.retryDelay`
    /// becomes the retry-after.
    static func failure(status: Int, headers: HTTPHeaders, body: [UInt8]) -> UpstreamFailure {
        let error = self.error(status: status, headers: headers, body: body)
        return .http(status: status, error: error, signal: signal(error))
    }

    /// What a Google RPC status (kept as the error's type) says beyond the HTTP status.
    static func signal(_ error: GatewayError) -> UpstreamFailure.Kind? {
        switch error.type {
        case "RESOURCE_EXHAUSTED": return .rateLimited
        case "UNAVAILABLE": return .overloaded
        case "DEADLINE_EXCEEDED": return .timeout
        case "UNAUTHENTICATED", "PERMISSION_DENIED": return .auth
        case "NOT_FOUND": return .notFound
        case "INTERNAL": return .serverError
        case "INVALID_ARGUMENT":
            // "The input token count (1048577) exceeds the maximum number of tokens allowed (1048576)."
            let message = error.message.lowercased()
            return message.contains("exceeds the maximum number of tokens") ? .contextLength : nil
        default: return nil
        }
    }

    /// An error body `{"error":{"code","message","status","details"}}` (also inside a JSON array,
    /// as non-SSE streams send it) → GatewayError keeping the message and the status string as type.
    static func error(status: Int, headers: HTTPHeaders, body: [UInt8]) -> GatewayError {
        if let json = try? JSONValue.parse(body), let error = errorObject(json) {
            return self.error(error, status: status, headers: headers)
        }
        return PlainTextError.error(status: status, headers: headers, body: body)
    }

    /// The `error` object of a document, if it is an error.
    static func errorObject(_ json: JSONValue) -> JSONValue? {
        if let first = json.arrayValue?.first { return errorObject(first) }
        guard let error = json["error"], case .object = error else { return nil }
        return error
    }

    /// An error object reported inside a 200 stream: 429 and 503 keep their meaning, the rest is 502.
    static func streamError(_ error: JSONValue) -> GatewayError {
        let status: Int
        switch (error["status"]?.stringValue, error["code"]?.intValue) {
        case ("RESOURCE_EXHAUSTED", _), (_, 429): status = 429
        case ("UNAVAILABLE", _), (_, 503): status = 503
        default: status = 502
        }
        return self.error(error, status: status, headers: HTTPHeaders())
    }

    static func error(_ error: JSONValue, status: Int, headers: HTTPHeaders) -> GatewayError {
        let details = error["details"]?.arrayValue ?? []
        func detail(_ type: String) -> JSONValue? {
            details.first { $0["@type"]?.stringValue == "type.googleapis.com/google.rpc.\(type)" }
        }
        let message = error["message"]?.stringValue ?? "The upstream answered HTTP \(status) without a message."
        return GatewayError(status: status,
                            type: error["status"]?.stringValue ?? GatewayError.openAIType(forStatus: status),
                            code: detail("ErrorInfo")?["reason"]?.stringValue, message: message,
                            retryAfter: detail("RetryInfo")?["retryDelay"]?.stringValue.flatMap(RetryAfter.seconds(duration:))
                                ?? RetryAfter.seconds(headers))
    }
}
