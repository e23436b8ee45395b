import TollgateCore

/// A `response` object → an OpenAI `chat.completion` (wire-formats.md §2.2).
extension OpenAIResponses {
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
            throw decodeFailure(status: 502, headers: headers, body: body).error
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
}
