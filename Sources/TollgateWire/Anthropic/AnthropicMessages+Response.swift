import TollgateCore

/// Anthropic's `message` answers → OpenAI `chat.completion`s (wire-formats.md §3.2).
extension AnthropicMessages {
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
}
