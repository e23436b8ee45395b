import TollgateCore

/// OpenAI's Responses API spoken by a client to tollgate (`POST /v1/responses`). Toward an
/// `openai_responses` upstream the request passes through; toward any other family it is
/// translated here into the common request (Chat Completions), and the answer back in
/// `+Response` (whole) and `ResponsesEventWriter` (streamed). Pure functions, no I/O.
/// Reference: https://platform.openai.com/docs/api-reference/responses (wire-formats.md §2).
public enum ResponsesInbound {
    public typealias Translation = AnthropicInbound.Translation

    /// Responses request → OpenAI chat request.
    ///
    /// - `instructions` → a first `system` message; `input` as a string → one user message.
    /// - Message items (with or without `type: "message"`): `input_text`/`output_text` → text,
    ///   `input_image` → `image_url`; roles kept (`developer` and `system` included).
    /// - `function_call` items → `tool_calls` of one assistant message (consecutive calls, and the
    ///   assistant text right before them, are merged); `function_call_output` → `tool` messages.
    /// - Reasoning items and built-in tool calls have no common form: dropped (named in the warning).
    /// - Function tools are un-flattened; other tool types dropped. `tool_choice`, `parallel_tool_calls`,
    ///   `text.format` (→ `response_format`), `reasoning.effort` (→ `reasoning_effort`),
    ///   `max_output_tokens` (→ `max_completion_tokens`), sampling and `user` fields carry over.
    public static func chatRequest(_ body: JSONValue) throws(GatewayError) -> Translation {
        guard case .object(let request) = body else { throw .invalidRequest("The request body must be a JSON object.") }
        var dropped: [String] = []
        var chat = JSONObject()
        guard let model = request["model"]?.stringValue, !model.isEmpty else {
            throw .invalidRequest("The \"model\" field is required and must be a string.", param: "model")
        }
        chat["model"] = .string(model)
        var messages: [JSONValue] = []
        if let instructions = nonNull(request["instructions"]) {
            guard let text = instructions.stringValue else { throw .invalidRequest("instructions must be a string.", param: "instructions") }
            messages.append(["role": "system", "content": .string(text)])
        }
        switch nonNull(request["input"]) {
        case .string(let text)?:
            messages.append(["role": "user", "content": .string(text)])
        case .array(let items)?:
            for (i, item) in items.enumerated() {
                try addItem(item, param: "input[\(i)]", to: &messages, dropped: &dropped)
            }
        case nil:
            throw .invalidRequest("The \"input\" field is required.", param: "input")
        default:
            throw .invalidRequest("\"input\" must be a string or a list of input items.", param: "input")
        }
        chat["messages"] = .array(messages)

        if let value = nonNull(request["stream"]) {
            guard case .bool = value else { throw .invalidRequest("\"stream\" must be a boolean.", param: "stream") }
            chat["stream"] = value
        }
        if let value = nonNull(request["max_output_tokens"]) {
            guard let n = value.intValue, n > 0 else {
                throw .invalidRequest("max_output_tokens must be a positive integer.", param: "max_output_tokens")
            }
            chat["max_completion_tokens"] = .int(n)
        }
        for key in ["temperature", "top_p", "parallel_tool_calls", "user", "safety_identifier",
                    "prompt_cache_key", "service_tier"] {
            if let value = nonNull(request[key]) { chat[key] = value }
        }
        if let tools = nonNull(request["tools"]) {
            guard let list = tools.arrayValue else { throw .invalidRequest("\"tools\" must be a list.", param: "tools") }
            var functions: [JSONValue] = []
            for (i, tool) in list.enumerated() {
                guard tool["type"]?.stringValue == "function" else {
                    dropped.append("tools[\(i)] (\(tool["type"]?.stringValue ?? "untyped") tool)")
                    continue
                }
                guard let name = tool["name"]?.stringValue else {
                    throw .invalidRequest("tools[\(i)].name is required.", param: "tools[\(i)].name")
                }
                var function = JSONObject([("name", .string(name))])
                if let description = tool["description"]?.stringValue { function["description"] = .string(description) }
                function["parameters"] = nonNull(tool["parameters"]) ?? ["type": "object", "properties": [:]]
                if let strict = tool["strict"]?.boolValue { function["strict"] = .bool(strict) }
                functions.append(["type": "function", "function": .object(function)])
            }
            if !functions.isEmpty { chat["tools"] = .array(functions) }
        }
        if let choice = nonNull(request["tool_choice"]), chat["tools"] != nil {
            if let mode = choice.stringValue {
                chat["tool_choice"] = .string(mode)
            } else if choice["type"]?.stringValue == "function", let name = choice["name"]?.stringValue {
                chat["tool_choice"] = ["type": "function", "function": ["name": .string(name)]]
            } else {
                dropped.append("tool_choice (\(choice["type"]?.stringValue ?? "unknown"))")
            }
        }
        if let format = nonNull(request["text"]?["format"]) {
            switch format["type"]?.stringValue {
            case "json_schema":
                var schema = JSONObject([("name", format["name"] ?? "output")])
                if let value = format["schema"] { schema["schema"] = value }
                if let value = format["strict"], !value.isNull { schema["strict"] = value }
                if let value = format["description"]?.stringValue { schema["description"] = .string(value) }
                chat["response_format"] = ["type": "json_schema", "json_schema": .object(schema)]
            case "json_object":
                chat["response_format"] = ["type": "json_object"]
            default:
                break
            }
        }
        if let verbosity = request["text"]?["verbosity"]?.stringValue { chat["verbosity"] = .string(verbosity) }
        if let effort = request["reasoning"]?["effort"]?.stringValue { chat["reasoning_effort"] = .string(effort) }
        for key in ["truncation", "background", "conversation", "prompt", "max_tool_calls", "top_logprobs"]
        where nonNull(request[key]) != nil {
            dropped.append(key)
        }
        return Translation(chat: .object(chat), dropped: dropped)
    }

    static func addItem(_ item: JSONValue, param: String, to messages: inout [JSONValue], dropped: inout [String])
        throws(GatewayError)
    {
        let type = item["type"]?.stringValue ?? (item["role"] != nil ? "message" : nil)
        switch type {
        case "message":
            guard let role = item["role"]?.stringValue, ["user", "assistant", "system", "developer"].contains(role) else {
                throw .invalidRequest("\(param).role must be user, assistant, system or developer.", param: "\(param).role")
            }
            let content = try messageContent(item["content"], role: role, param: param, dropped: &dropped)
            messages.append(["role": .string(role), "content": content])
        case "function_call":
            guard let callID = item["call_id"]?.stringValue, let name = item["name"]?.stringValue else {
                throw .invalidRequest("\(param) needs call_id and name.", param: param)
            }
            let call = ThoughtSignatureID.toolCall(id: callID, name: name, arguments: item["arguments"] ?? "{}")
            // Calls of one turn go into one assistant message, with the text said before them.
            if var last = messages.last, last["role"]?.stringValue == "assistant" {
                var calls = last["tool_calls"]?.arrayValue ?? []
                calls.append(call)
                last["tool_calls"] = .array(calls)
                if last["content"]?.stringValue == "" { last["content"] = .null }
                messages[messages.count - 1] = last
            } else {
                messages.append(["role": "assistant", "content": .null, "tool_calls": [call]])
            }
        case "function_call_output":
            guard let callID = item["call_id"]?.stringValue else {
                throw .invalidRequest("\(param).call_id is required.", param: "\(param).call_id")
            }
            let output: String
            if let text = item["output"]?.stringValue {
                output = text
            } else if let parts = item["output"]?.arrayValue {
                output = parts.compactMap { $0["text"]?.stringValue }.joined(separator: "\n\n")
            } else {
                output = item["output"].map { $0.serializedString() } ?? ""
            }
            messages.append(["role": "tool", "tool_call_id": .string(ThoughtSignatureID.split(callID).id), "content": .string(output)])
        default:
            dropped.append("\(param) (\(type ?? "untyped") item)")
        }
    }

    /// A message item's content: a string, or parts as chat content parts (a text-only list is
    /// joined into a string, which every upstream and role takes).
    static func messageContent(_ content: JSONValue?, role: String, param: String, dropped: inout [String])
        throws(GatewayError) -> JSONValue
    {
        guard let content = nonNull(content) else { return "" }
        if case .string = content { return content }
        guard let parts = content.arrayValue else {
            throw .invalidRequest("\(param).content must be a string or a list of content parts.", param: "\(param).content")
        }
        var out: [JSONValue] = []
        for (i, part) in parts.enumerated() {
            switch part["type"]?.stringValue {
            case "input_text", "output_text", "text":
                out.append(["type": "text", "text": part["text"] ?? ""])
            case "refusal":
                out.append(["type": "text", "text": part["refusal"] ?? ""])
            case "input_image":
                guard let url = part["image_url"]?.stringValue else {
                    dropped.append("\(param).content[\(i)] (image by file_id)")
                    continue
                }
                var image = JSONObject([("url", .string(url))])
                if let detail = part["detail"]?.stringValue, detail != "original" { image["detail"] = .string(detail) }
                out.append(["type": "image_url", "image_url": .object(image)])
            case let type:
                dropped.append("\(param).content[\(i)] (\(type ?? "untyped") part)")
            }
        }
        if role != "user" || out.allSatisfy({ $0["type"]?.stringValue == "text" }) {
            return .string(out.compactMap { $0["text"]?.stringValue }.joined(separator: "\n\n"))
        }
        return .array(out)
    }
}
