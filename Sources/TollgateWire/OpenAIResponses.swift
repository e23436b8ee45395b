import TollgateCore

/// `openai_responses`: OpenAI's Responses API (`POST {base}/responses`), translated from and back to
/// OpenAI Chat Completions. Select it on an `openai` provider with `"protocol": "openai_responses"`.
/// Request encoding is in `OpenAIResponses+Request.swift`, stream decoding in `OpenAIResponses+Stream.swift`.
/// Reference: https://platform.openai.com/docs/api-reference/responses (wire-formats.md §2, cheat sheet §0).
public struct OpenAIResponses: ChatProtocol {
    public let name = "openai_responses"
    public let path = "/responses"
    public init() {}

    /// The OpenAI parameters this protocol translates. The Responses API has no `stop`, `seed`, `n`,
    /// penalties, `logit_bias` or chat-style `logprobs`; the gateway drops those with a warning.
    public let acceptedParameters: Set<String>? = [
        "model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens", "temperature",
        "top_p", "user", "safety_identifier", "prompt_cache_key", "prompt_cache_retention", "service_tier", "tools",
        "tool_choice", "parallel_tool_calls", "response_format", "verbosity", "reasoning_effort", "metadata", "store",
    ]

    // MARK: request

    public func encode(_ request: ChatRequestInput, context: ChatContext) throws(GatewayError) -> UpstreamRequest {
        let body = try Self.requestBody(request.json, context: context)
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        headers.add("Accept", context.stream ? "text/event-stream" : "application/json")
        return UpstreamRequest(url: context.provider.url(path: path), headers: headers, body: body.serialized())
    }

    // MARK: response

    /// A `response` object → an OpenAI `chat.completion`: `output_text` parts of `message` items joined
    /// into `content`, `refusal` parts into `refusal`, `function_call` items as `tool_calls` (id = `call_id`).
    /// Reasoning items and built-in tool calls have no Chat form and are left out.
    public func decodeResponse(status: Int, headers: HTTPHeaders, body: [UInt8],
                               context: ChatContext) throws(GatewayError) -> ChatResult {
        guard let json = try? JSONValue.parse(body), case .object = json else {
            throw GatewayError.badGateway("The upstream answered HTTP \(status) with a body that is not a JSON object.",
                                          code: "invalid_upstream_response")
        }
        if json["output"] == nil, let error = json["error"], case .object = error {
            throw decodeError(status: 502, headers: headers, body: body)
        }
        if json["status"]?.stringValue == "failed" {
            throw Self.error(json["error"])
        }
        guard let output = json["output"]?.arrayValue else {
            throw GatewayError.badGateway("The upstream answer has no output array.", code: "invalid_upstream_response")
        }
        var text: String?
        var refusal: String?
        var toolCalls: [JSONValue] = []
        for item in output {
            switch item["type"]?.stringValue {
            case "message":
                for part in item["content"]?.arrayValue ?? [] {
                    switch part["type"]?.stringValue {
                    case "output_text": text = (text ?? "") + (part["text"]?.stringValue ?? "")
                    case "refusal": refusal = (refusal ?? "") + (part["refusal"]?.stringValue ?? "")
                    default: break
                    }
                }
            case "function_call":
                toolCalls.append([
                    "id": item["call_id"] ?? item["id"] ?? "",
                    "type": "function",
                    "function": ["name": item["name"] ?? "", "arguments": item["arguments"] ?? ""],
                ])
            default:
                break  // reasoning, web_search_call, ... have no Chat Completions form
            }
        }
        var message = JSONObject([("role", "assistant")])
        if let text {
            message["content"] = .string(text)
        } else {
            message["content"] = toolCalls.isEmpty && refusal == nil ? "" : .null
        }
        if !toolCalls.isEmpty { message["tool_calls"] = .array(toolCalls) }
        message["refusal"] = refusal.map { .string($0) } ?? .null
        let usage = Self.usage(json["usage"])
        let completion: JSONValue = [
            "id": json["id"] ?? .string("chatcmpl-\(context.requestID)"),
            "object": "chat.completion",
            "created": .int(json["created_at"]?.doubleValue.map { Int($0) } ?? context.created),
            "model": json["model"] ?? .string(context.upstreamModel),
            "choices": [[
                "index": 0,
                "message": .object(message),
                "logprobs": .null,
                "finish_reason": .string(Self.finishReason(json, sawFunctionCall: !toolCalls.isEmpty)),
            ]],
            "usage": usage?.openAIJSON ?? .null,
        ]
        return ChatResult(body: completion.serialized(), usage: usage)
    }

    /// A response's end → OpenAI `finish_reason` (wire-formats.md §0.2): an `incomplete` response says why
    /// (`max_output_tokens` → length, `content_filter` → content_filter); otherwise any function call
    /// means `tool_calls`, and anything else `stop`.
    static func finishReason(_ response: JSONValue?, sawFunctionCall: Bool) -> String {
        if response?["status"]?.stringValue == "incomplete" {
            switch response?["incomplete_details"]?["reason"]?.stringValue {
            case "max_output_tokens": return "length"
            case "content_filter": return "content_filter"
            default: break
            }
        }
        let output = response?["output"]?.arrayValue ?? []
        let hasFunctionCall = sawFunctionCall || output.contains { $0["type"]?.stringValue == "function_call" }
        return hasFunctionCall ? "tool_calls" : "stop"
    }

    /// Responses `usage` → `Usage` (§0.3): `input_tokens` already include cached ones, `output_tokens`
    /// include reasoning ones, as in Chat Completions.
    static func usage(_ json: JSONValue?) -> Usage? {
        guard let json, case .object = json else { return nil }
        return Usage(promptTokens: json["input_tokens"]?.intValue ?? 0,
                     completionTokens: json["output_tokens"]?.intValue ?? 0,
                     cachedTokens: json["input_tokens_details"]?["cached_tokens"]?.intValue ?? 0,
                     reasoningTokens: json["output_tokens_details"]?["reasoning_tokens"]?.intValue ?? 0)
    }

    // MARK: stream

    public func makeStreamDecoder(context: ChatContext) -> any ChatStreamDecoder {
        StreamDecoder(context: context)
    }

    // MARK: errors

    /// HTTP errors carry OpenAI's usual `{"error":{"message","type","param","code"}}` body, read as for
    /// Chat Completions (with `retry-after-ms` / `retry-after`).
    public func decodeError(status: Int, headers: HTTPHeaders, body: [UInt8]) -> GatewayError {
        OpenAIChat.error(from: try? JSONValue.parse(body), status: status, headers: headers, rawBody: body)
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
