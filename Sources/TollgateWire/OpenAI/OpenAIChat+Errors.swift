import TollgateCore

/// OpenAI's `{"error":{"message","type","param","code"}}`, the shape most compatible servers
/// copy more or less faithfully, as one classified failure.
extension OpenAIChat {
    /// The body's error, classified by status; `context_length_exceeded` whatever the status.
    public func decodeFailure(status: Int, headers: HTTPHeaders, body: [UInt8]) -> UpstreamFailure {
        let error = Self.error(from: try? JSONValue.parse(body), status: status, headers: headers, rawBody: body)
        return .http(status: status, error: error, signal: Self.signal(error))
    }

    /// What an OpenAI-style error's code says beyond its status.
    static func signal(_ error: GatewayError) -> UpstreamFailure.Kind? {
        error.code == "context_length_exceeded" ? .contextLength : nil
    }

    /// Reads `{"error":{...}}`, `{"error":"text"}`, `{"message":...}`, `{"detail":...}` or plain text.
    static func error(from json: JSONValue?, status: Int, headers: HTTPHeaders, rawBody: [UInt8] = []) -> GatewayError {
        var message: String?
        var type: String?
        var code: String?
        var param: String?
        if let json {
            if let e = json["error"], case .object = e {
                message = e["message"]?.stringValue
                type = e["type"]?.stringValue
                code = e["code"]?.stringValue ?? e["code"]?.intValue.map(String.init)
                param = e["param"]?.stringValue
            } else if let text = json["error"]?.stringValue {
                message = text
            } else if let text = json["message"]?.stringValue {
                message = text
            } else if let text = json["detail"]?.stringValue {
                message = text
            }
        }
        return GatewayError(status: status, type: type ?? GatewayError.openAIType(forStatus: status), code: code,
                            param: param, message: message ?? PlainTextError.message(status: status, body: rawBody),
                            retryAfter: RetryAfter.seconds(headers))
    }
}
