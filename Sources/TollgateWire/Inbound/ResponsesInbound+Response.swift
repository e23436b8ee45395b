import TollgateCore

/// Answers in the Responses API's shapes for a client of `/v1/responses`: the `response` object,
/// its output items and usage, failures, and the reading of a same-family stream.
extension ResponsesInbound {
    /// What a `response` object echoes of the request it answers.
    public struct Echo: Sendable {
        public var id: String
        public var model: String
        public var createdAt: Int
        public var request: JSONValue

        public init(id: String, model: String, createdAt: Int, request: JSONValue) {
            self.id = id
            self.model = model
            self.createdAt = createdAt
            self.request = request
        }
    }

    /// A `response` object: `status`, `output` items and `usage` as given, the rest echoed from the request.
    public static func response(_ echo: Echo, status: String, output: [JSONValue], usage: Usage?,
                                incompleteReason: String? = nil, error: GatewayError? = nil) -> JSONValue {
        let r = echo.request
        var o = JSONObject()
        o["id"] = .string(echo.id)
        o["object"] = "response"
        o["created_at"] = .int(echo.createdAt)
        o["status"] = .string(status)
        o["error"] = error.map { ["code": .string(errorCode($0)), "message": .string($0.message)] } ?? .null
        o["incomplete_details"] = incompleteReason.map { ["reason": .string($0)] } ?? .null
        o["instructions"] = r["instructions"] ?? .null
        o["max_output_tokens"] = r["max_output_tokens"] ?? .null
        o["model"] = .string(echo.model)
        o["output"] = .array(output)
        o["parallel_tool_calls"] = r["parallel_tool_calls"] ?? true
        o["previous_response_id"] = .null
        o["reasoning"] = ["effort": r["reasoning"]?["effort"] ?? .null, "summary": .null]
        o["store"] = false
        o["temperature"] = r["temperature"] ?? .null
        o["text"] = ["format": r["text"]?["format"] ?? ["type": "text"]]
        o["tool_choice"] = r["tool_choice"] ?? "auto"
        o["tools"] = r["tools"] ?? []
        o["top_p"] = r["top_p"] ?? .null
        o["truncation"] = "disabled"
        o["usage"] = usage.map(usageJSON) ?? .null
        o["user"] = r["user"] ?? .null
        o["metadata"] = r["metadata"] ?? [:]
        return .object(o)
    }

    /// An OpenAI `chat.completion` → the output items of a response: the text as one `message`
    /// item, each tool call as a `function_call` item. Reasoning text is left out (a Responses
    /// reasoning item carries the provider's own encrypted state, which no other family has).
    public static func outputItems(fromCompletion completion: JSONValue, idBase: String) -> [JSONValue] {
        let message = completion["choices"]?[0]?["message"]
        var items: [JSONValue] = []
        let text = message?["content"]?.stringValue ?? ""
        let calls = message?["tool_calls"]?.arrayValue ?? []
        if !text.isEmpty || calls.isEmpty {
            items.append(messageItem(id: "msg_\(idBase)", text: text, status: "completed"))
        }
        for (i, call) in calls.enumerated() {
            let callID = ThoughtSignatureID.id(call["id"]?.stringValue ?? "call_\(idBase)_\(i)",
                                               signature: ThoughtSignatureID.signature(ofCall: call))
            items.append(functionCallItem(id: "fc_\(idBase)_\(i)", callID: callID,
                                          name: call["function"]?["name"]?.stringValue ?? "",
                                          arguments: call["function"]?["arguments"]?.stringValue ?? "", status: "completed"))
        }
        return items
    }

    static func messageItem(id: String, text: String?, status: String) -> JSONValue {
        [
            "id": .string(id), "type": "message", "status": .string(status), "role": "assistant",
            "content": text.map { [outputText($0)] } ?? [],
        ]
    }

    static func outputText(_ text: String) -> JSONValue {
        ["type": "output_text", "text": .string(text), "annotations": [], "logprobs": []]
    }

    static func functionCallItem(id: String, callID: String, name: String, arguments: String, status: String) -> JSONValue {
        ["id": .string(id), "type": "function_call", "status": .string(status), "call_id": .string(callID),
         "name": .string(name), "arguments": .string(arguments)]
    }

    /// `length` → `max_output_tokens`, `content_filter` → itself; nil for an answer that completed.
    public static func incompleteReason(_ finishReason: String?) -> String? {
        switch finishReason {
        case "length": "max_output_tokens"
        case "content_filter": "content_filter"
        default: nil
        }
    }

    public static func usageJSON(_ usage: Usage) -> JSONValue {
        [
            "input_tokens": .int(usage.promptTokens),
            "input_tokens_details": ["cached_tokens": .int(usage.cachedTokens)],
            "output_tokens": .int(usage.completionTokens),
            "output_tokens_details": ["reasoning_tokens": .int(usage.reasoningTokens)],
            "total_tokens": .int(usage.promptTokens + usage.completionTokens),
        ]
    }

    /// The `code` of a failed response's `error`: the error's own code, else one for its kind.
    static func errorCode(_ error: GatewayError) -> String {
        if let code = error.code { return code }
        return error.status == 429 ? "rate_limit_exceeded" : error.status >= 500 ? "server_error" : "invalid_request"
    }

    // MARK: same-family streams

    /// Reads a Responses stream relayed as it is: usage and the end from `response.completed` or
    /// `response.incomplete`; `response.failed` and `error` events end it as failures.
    public struct StreamReader: SSEEventReader {
        public init() {}

        public mutating func read(_ event: SSEEvent) -> SSEEventReading {
            guard let json = try? JSONValue.parse(Array(event.data.utf8)), case .object = json else {
                if event.event == "error" { return SSEEventReading(.fail(.badGateway(event.data))) }
                return SSEEventReading()
            }
            switch json["type"]?.stringValue ?? event.event {
            case "response.output_text.delta", "response.function_call_arguments.delta", "response.refusal.delta",
                 "response.reasoning_summary_text.delta", "response.reasoning_text.delta":
                return SSEEventReading(textBytes: json["delta"]?.stringValue?.utf8.count ?? 0)
            case "response.completed", "response.incomplete":
                let usage = OpenAIResponses.usage(json["response"]?["usage"])
                return SSEEventReading(.end, outputs: usage.map { [.usage($0)] } ?? [])
            case "response.failed":
                let usage = OpenAIResponses.usage(json["response"]?["usage"])
                return SSEEventReading(.fail(OpenAIResponses.error(json["response"]?["error"])), outputs: usage.map { [.usage($0)] } ?? [])
            case "error":
                return SSEEventReading(.fail(OpenAIResponses.error(json["error"] ?? json)))
            default:
                return SSEEventReading()
            }
        }
    }

    /// The usage of a whole same-family answer (a `response`).
    public static func usage(ofResponse body: [UInt8]) -> Usage? {
        guard let json = try? JSONValue.parse(body) else { return nil }
        return OpenAIResponses.usage(json["usage"])
    }
}
