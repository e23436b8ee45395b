import TollgateCore

/// `anthropic_messages`: Anthropic's Messages API (`POST {base}/v1/messages`), translated from and
/// back to OpenAI Chat Completions. Request encoding is in `AnthropicMessages+Request.swift`, stream
/// decoding in `AnthropicMessages+Stream.swift`.
/// Reference: https://docs.anthropic.com/en/api/messages (wire-formats.md §3, cheat sheet §0).
public struct AnthropicMessages: ChatProtocol {
    public let name = "anthropic_messages"
    public let path = "/v1/messages"
    /// The API version every request names. The `anthropic` auth strategy sets it too; sending it
    /// here keeps the protocol usable behind other auth (a bearer-token proxy).
    public static let apiVersion = "2023-06-01"
    public init() {}

    /// The OpenAI parameters this protocol translates. `seed`, `n`, penalties, `logprobs` and the
    /// rest have no Anthropic equivalent; the gateway drops them with a warning.
    public let acceptedParameters: Set<String>? = [
        "model", "messages", "stream", "stream_options", "max_tokens", "max_completion_tokens", "temperature",
        "top_p", "stop", "user", "safety_identifier", "tools", "tool_choice", "parallel_tool_calls",
        "response_format",
    ]

    // MARK: request

    public func encode(_ request: ChatRequestInput, context: ChatContext) throws(GatewayError) -> UpstreamRequest {
        let body = try Self.requestBody(request.json, context: context)
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        headers.add("Accept", context.stream ? "text/event-stream" : "application/json")
        headers.add("anthropic-version", Self.apiVersion)
        return UpstreamRequest(url: context.provider.url(path: path), headers: headers, body: body.serialized())
    }

    // MARK: response

    /// A `message` object → an OpenAI `chat.completion`: text blocks joined into `content`,
    /// `tool_use` blocks as `tool_calls`; thinking and server-tool blocks are left out.
    public func decodeResponse(status: Int, headers: HTTPHeaders, body: [UInt8],
                               context: ChatContext) throws(GatewayError) -> ChatResult {
        guard let json = try? JSONValue.parse(body), case .object = json else {
            throw GatewayError.badGateway("The upstream answered HTTP \(status) with a body that is not a JSON object.",
                                          code: "invalid_upstream_response")
        }
        if let error = Self.errorObject(json) {
            throw Self.error(error, status: Self.status(forStreamError: error["type"]?.stringValue))
        }
        guard let blocks = json["content"]?.arrayValue else {
            throw GatewayError.badGateway("The upstream answer has no content array.", code: "invalid_upstream_response")
        }
        var text = ""
        var toolCalls: [JSONValue] = []
        for block in blocks {
            switch block["type"]?.stringValue {
            case "text":
                text += block["text"]?.stringValue ?? ""
            case "tool_use":
                let input = block["input"] ?? .object(JSONObject())
                toolCalls.append([
                    "id": block["id"] ?? "",
                    "type": "function",
                    "function": ["name": block["name"] ?? "", "arguments": .string(input.serializedString())],
                ])
            default:
                break
            }
        }
        var message = JSONObject([("role", "assistant")])
        message["content"] = toolCalls.isEmpty || !text.isEmpty ? .string(text) : .null
        if !toolCalls.isEmpty { message["tool_calls"] = .array(toolCalls) }
        message["refusal"] = .null
        let usage = Self.usage(json["usage"])
        let completion: JSONValue = [
            "id": json["id"] ?? .string("chatcmpl-\(context.requestID)"),
            "object": "chat.completion",
            "created": .int(context.created),
            "model": json["model"] ?? .string(context.upstreamModel),
            "choices": [[
                "index": 0,
                "message": .object(message),
                "logprobs": .null,
                "finish_reason": .string(Self.finishReason(json["stop_reason"]?.stringValue)),
            ]],
            "usage": usage?.openAIJSON ?? .null,
        ]
        return ChatResult(body: completion.serialized(), usage: usage)
    }

    /// `stop_reason` → OpenAI `finish_reason` (wire-formats.md §0.2). A `pause_turn` (server tool
    /// paused) and unknown reasons read as `stop`.
    static func finishReason(_ stopReason: String?) -> String {
        switch stopReason {
        case "max_tokens", "model_context_window_exceeded": "length"
        case "tool_use": "tool_calls"
        case "refusal": "content_filter"
        default: "stop"
        }
    }

    /// Anthropic `usage` → `Usage` (§0.3): the prompt counts uncached, cache-read and cache-write input
    /// tokens; cached tokens are the cache reads; reasoning tokens come from `output_tokens_details`.
    static func usage(_ json: JSONValue?) -> Usage? {
        guard let json, case .object = json else { return nil }
        return UsageCounts(json).usage
    }

    /// Anthropic's token counters as reported so far; stream events update them field by field.
    struct UsageCounts: Equatable {
        var input = 0
        var cacheRead = 0
        var cacheCreation = 0
        var output = 0
        var thinking = 0

        init() {}
        init(_ json: JSONValue) { merge(json) }

        /// Takes every counter `json` carries; absent ones keep their value (`message_delta` usage is
        /// cumulative, and may or may not repeat the input counts).
        mutating func merge(_ json: JSONValue) {
            if let n = json["input_tokens"]?.intValue { input = n }
            if let n = json["cache_read_input_tokens"]?.intValue { cacheRead = n }
            if let n = json["cache_creation_input_tokens"]?.intValue { cacheCreation = n }
            if let n = json["output_tokens"]?.intValue { output = n }
            if let n = json["output_tokens_details"]?["thinking_tokens"]?.intValue { thinking = n }
        }

        var usage: Usage {
            Usage(promptTokens: input + cacheRead + cacheCreation, completionTokens: output, cachedTokens: cacheRead,
                  reasoningTokens: thinking)
        }
    }

    // MARK: stream

    public func makeStreamDecoder(context: ChatContext) -> any ChatStreamDecoder {
        StreamDecoder(context: context)
    }

    // MARK: errors

    /// `{"type":"error","error":{"type","message"}}` → a GatewayError with the upstream status, the
    /// provider's error type and message, and `retry-after`. Other bodies (a proxy's) are read as
    /// OpenAI-style or plain text.
    public func decodeError(status: Int, headers: HTTPHeaders, body: [UInt8]) -> GatewayError {
        let json = try? JSONValue.parse(body)
        guard let json, let error = Self.errorObject(json) else {
            return OpenAIChat.error(from: json, status: status, headers: headers, rawBody: body)
        }
        var gatewayError = Self.error(error, status: status)
        gatewayError.retryAfter = OpenAIChat.retryAfter(headers)
        return gatewayError
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
