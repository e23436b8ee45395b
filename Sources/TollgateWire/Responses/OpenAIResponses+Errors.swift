import TollgateCore

/// Responses API errors: HTTP error bodies, failed responses and `error` stream events (wire-formats.md §1.4, §2.3).
extension OpenAIResponses {
    /// HTTP errors carry OpenAI's usual `{"error":{"message","type","param","code"}}` body, read and
    /// classified as for Chat Completions (with `retry-after-ms` / `retry-after`).
    public func decodeFailure(status: Int, headers: HTTPHeaders, body: [UInt8]) -> UpstreamFailure {
        OpenAIChat().decodeFailure(status: status, headers: headers, body: body)
    }

    /// An error reported under HTTP 200: a failed response's `error` (`{code, message}`), or an `error`
    /// stream event, flat (`{code, message, param}`, the SDK's type) or nested under `error` (seen in
    /// recorded streams). The status follows the code or type: rate limits 429, overload 503, the
    /// API's client-side codes (an invalid prompt or image, a policy refusal) 400, anything else 502.
    static func error(_ json: JSONValue?) -> GatewayError {
        var object = json ?? .null
        if let nested = object["error"], case .object = nested { object = nested }
        guard case .object = object, let message = object["message"]?.stringValue else {
            let detail = json.flatMap { $0.isNull ? nil : ": \($0.serializedString())" } ?? "."
            return .badGateway("The upstream reported an error\(detail)")
        }
        let code = object["code"]?.stringValue ?? object["code"]?.intValue.map(String.init)
        // A flat `error` event's `type` is the event name, not an error type.
        let type = object["type"]?.stringValue.flatMap { $0 == "error" ? nil : $0 }
        let status = Self.status(forErrorCode: code, type: type)
        return GatewayError(status: status, type: type ?? GatewayError.openAIType(forStatus: status), code: code,
                            param: object["param"]?.stringValue, message: message)
    }

    /// Codes of `ResponseError` that blame the request, not the service.
    static let clientErrorCodes: Set<String> = [
        "invalid_prompt", "data_residency_mismatch", "bio_policy", "invalid_image", "invalid_image_format",
        "invalid_base64_image", "invalid_image_url", "image_too_large", "image_too_small", "image_parse_error",
        "image_content_policy_violation", "invalid_image_mode", "image_file_too_large", "unsupported_image_media_type",
        "empty_image_file", "failed_to_download_image", "image_file_not_found",
    ]

    /// The HTTP status an error reported under HTTP 200 stands for.
    static func status(forErrorCode code: String?, type: String?) -> Int {
        let words = [code, type].compactMap { $0 }
        if words.contains(where: { $0.hasPrefix("rate_limit") || $0 == "insufficient_quota" }) { return 429 }
        if words.contains(where: { $0.contains("overloaded") || $0 == "service_unavailable" }) { return 503 }
        if let code, clientErrorCodes.contains(code) { return 400 }
        if type == "invalid_request_error" { return 400 }
        return 502
    }
}
