import TollgateCore

/// Answers in Anthropic's shapes for a Messages client: a translated completion as a `message`,
/// usage, stop reasons, errors, and the reading of a same-family stream.
extension AnthropicInbound {
    /// An OpenAI `chat.completion` → an Anthropic `message`: reasoning text as a `thinking` block
    /// (with no signature: none exists outside Anthropic), the text as a `text` block, each tool
    /// call as a `tool_use` block with its arguments parsed (`{}` when they are not a JSON object).
    public static func message(fromCompletion completion: JSONValue, id: String, model: String, usage: Usage?) -> JSONValue {
        let choice = completion["choices"]?[0]
        let message = choice?["message"]
        var content: [JSONValue] = []
        if let reasoning = (message?["reasoning_content"] ?? message?["reasoning"])?.stringValue, !reasoning.isEmpty {
            content.append(["type": "thinking", "thinking": .string(reasoning), "signature": ""])
        }
        if let text = message?["content"]?.stringValue, !text.isEmpty {
            content.append(["type": "text", "text": .string(text)])
        }
        for call in message?["tool_calls"]?.arrayValue ?? [] {
            content.append(toolUseBlock(id: call["id"]?.stringValue.map { ThoughtSignatureID.id($0, signature: ThoughtSignatureID.signature(ofCall: call)) }, name: call["function"]?["name"]?.stringValue ?? "",
                                        input: toolInput(call["function"]?["arguments"]?.stringValue ?? "")))
        }
        if content.isEmpty { content.append(["type": "text", "text": ""]) }
        let reported = usage ?? Usage(openAI: completion["usage"]) ?? Usage()
        return [
            "id": .string(id),
            "type": "message",
            "role": "assistant",
            "model": .string(model),
            "content": .array(content),
            "stop_reason": .string(stopReason(choice?["finish_reason"]?.stringValue)),
            "stop_sequence": .null,
            "usage": usageJSON(reported),
        ]
    }

    static func toolUseBlock(id: String?, name: String, input: JSONValue) -> JSONValue {
        ["type": "tool_use", "id": .string(id.flatMap { $0.isEmpty ? nil : $0 } ?? "toolu_\(name)"), "name": .string(name),
         "input": input]
    }

    /// Tool-call arguments as the `input` object (`{}` when they are empty or not an object).
    static func toolInput(_ arguments: String) -> JSONValue {
        if let json = try? JSONValue.parse(Array(arguments.utf8)), case .object = json { return json }
        return .object(JSONObject())
    }

    /// OpenAI `finish_reason` → Anthropic `stop_reason`.
    public static func stopReason(_ finishReason: String?) -> String {
        switch finishReason {
        case "length": "max_tokens"
        case "tool_calls", "function_call": "tool_use"
        case "content_filter": "refusal"
        default: "end_turn"
        }
    }

    /// `Usage` in Anthropic's form: `input_tokens` excludes the cache reads, counted apart.
    public static func usageJSON(_ usage: Usage) -> JSONValue {
        [
            "input_tokens": .int(max(0, usage.promptTokens - usage.cachedTokens)),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": .int(usage.cachedTokens),
            "output_tokens": .int(usage.completionTokens),
        ]
    }

    // MARK: errors

    /// Anthropic's error `type` for an HTTP status (wire-formats.md §3.4).
    public static func errorType(_ error: GatewayError) -> String {
        switch error.status {
        case 401: return "authentication_error"
        case 402: return "billing_error"
        case 403: return "permission_error"
        case 404: return "not_found_error"
        case 413: return "request_too_large"
        case 429: return "rate_limit_error"
        case 504: return "timeout_error"
        default: break
        }
        if errorTypes.contains(error.type) { return error.type }  // an Anthropic upstream's own
        switch error.status {
        case 503, 529: return "overloaded_error"
        case 400..<500: return "invalid_request_error"
        default: return "api_error"
        }
    }

    static let errorTypes: Set<String> = [
        "invalid_request_error", "authentication_error", "billing_error", "permission_error", "not_found_error",
        "request_too_large", "rate_limit_error", "timeout_error", "overloaded_error", "api_error",
    ]

    /// `{"type":"error","error":{"type":…,"message":…}}`.
    public static func errorJSON(_ error: GatewayError) -> JSONValue {
        ["type": "error", "error": ["type": .string(errorType(error)), "message": .string(error.message)]]
    }

    /// The same as an SSE `error` event, for a stream that fails after it started.
    public static func errorEvent(_ error: GatewayError) -> [UInt8] {
        event("error", errorJSON(error))
    }

    static func event(_ name: String, _ data: JSONValue) -> [UInt8] {
        var out: [UInt8] = Array("event: \(name)\ndata: ".utf8)
        data.write(to: &out)
        out.append(contentsOf: [0x0A, 0x0A])
        return out
    }

    // MARK: same-family streams

    /// Reads an Anthropic stream relayed as it is: usage from `message_start` and `message_delta`,
    /// the end at `message_stop`, errors from `error` events; answer text for the cut-stream estimate.
    public struct StreamReader: SSEEventReader {
        var counts = AnthropicMessages.UsageCounts()
        public init() {}

        public mutating func read(_ event: SSEEvent) -> SSEEventReading {
            let name = event.event
            if name == "ping" { return SSEEventReading() }
            guard let json = try? JSONValue.parse(Array(event.data.utf8)), case .object = json else {
                if name == "error" {
                    return SSEEventReading(.fail(.badGateway(event.data.isEmpty ? "The upstream reported an error mid-stream." : event.data)))
                }
                return SSEEventReading()
            }
            switch json["type"]?.stringValue ?? name {
            case "message_start":
                guard let usage = json["message"]?["usage"], case .object = usage else { return SSEEventReading() }
                counts.merge(usage)
                return SSEEventReading(outputs: [.usage(counts.usage)])
            case "message_delta":
                guard let usage = json["usage"], case .object = usage else { return SSEEventReading() }
                counts.merge(usage)
                return SSEEventReading(outputs: [.usage(counts.usage)])
            case "content_block_delta":
                let delta = json["delta"]
                let text = delta?["text"] ?? delta?["partial_json"] ?? delta?["thinking"]
                return SSEEventReading(textBytes: text?.stringValue?.utf8.count ?? 0)
            case "message_stop":
                return SSEEventReading(.end)
            case "error":
                let error = json["error"] ?? json
                return SSEEventReading(.fail(AnthropicMessages.error(error, status: AnthropicMessages.status(forStreamError: error["type"]?.stringValue))))
            default:
                return SSEEventReading()
            }
        }
    }

    /// The usage of a whole same-family answer (a `message`).
    public static func usage(ofMessage body: [UInt8]) -> Usage? {
        guard let json = try? JSONValue.parse(body) else { return nil }
        return AnthropicMessages.usage(json["usage"])
    }
}
