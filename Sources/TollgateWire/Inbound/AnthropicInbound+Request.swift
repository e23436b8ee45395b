import TollgateCore

/// Anthropic's Messages API spoken by a client to tollgate (`POST /v1/messages`). Toward an
/// `anthropic_messages` upstream the request passes through; toward any other family it is
/// translated here into the common request (OpenAI Chat Completions), and the answer back in
/// `+Response` (whole) and `AnthropicEventWriter` (streamed). Pure functions, no I/O.
/// Reference: https://docs.anthropic.com/en/api/messages (wire-formats.md §3).
public enum AnthropicInbound {
    /// The common request made from a Messages request, and what could not be carried.
    public struct Translation: Sendable {
        public var chat: JSONValue
        /// Fields and blocks left out, named for the warning in the log.
        public var dropped: [String]
    }

    /// Messages request → OpenAI chat request.
    ///
    /// - `system` (a string or text blocks) → one `system` message first.
    /// - `user` turns: text and image blocks → content parts; each `tool_result` → a `tool` message
    ///   (placed before the turn's other content, right after the assistant's calls).
    /// - `assistant` turns: text → content; each `tool_use` → one entry of `tool_calls`, its `input`
    ///   serialized as the arguments. Thinking blocks have no common form and are dropped.
    /// - Custom tools → function tools; server tools (a `type` other than `custom`) are dropped.
    /// - `tool_choice` auto/any/tool/none → auto/required/named/none; `disable_parallel_tool_use` →
    ///   `parallel_tool_calls: false`.
    /// - `stop_sequences` → `stop`, `metadata.user_id` → `user`, `thinking.budget_tokens` →
    ///   `reasoning_effort` (≤ 4,096 low, ≤ 16,384 medium, else high), `output_config.format` (or the
    ///   beta `output_format`) json_schema → `response_format`.
    public static func chatRequest(_ body: JSONValue) throws(GatewayError) -> Translation {
        guard case .object(let request) = body else { throw .invalidRequest("The request body must be a JSON object.") }
        var dropped: [String] = []
        var chat = JSONObject()
        guard let model = request["model"]?.stringValue, !model.isEmpty else {
            throw .invalidRequest("model: Field required (a string).", param: "model")
        }
        chat["model"] = .string(model)
        var messages: [JSONValue] = []
        if let system = nonNull(request["system"]) {
            messages.append(["role": "system", "content": .string(try systemText(system))])
        }
        guard let turns = request["messages"]?.arrayValue else {
            throw .invalidRequest("messages: Field required (a list of messages).", param: "messages")
        }
        for (i, turn) in turns.enumerated() {
            messages += try translateTurn(turn, param: "messages.\(i)", dropped: &dropped)
        }
        chat["messages"] = .array(messages)

        if let value = nonNull(request["max_tokens"]) {
            guard let n = value.intValue, n >= 0 else { throw .invalidRequest("max_tokens must be a non-negative integer.", param: "max_tokens") }
            chat["max_tokens"] = .int(n)
        }
        if let value = nonNull(request["stream"]) {
            guard case .bool = value else { throw .invalidRequest("stream must be a boolean.", param: "stream") }
            chat["stream"] = value
        }
        for key in ["temperature", "top_p"] {
            guard let value = nonNull(request[key]) else { continue }
            guard value.doubleValue != nil else { throw .invalidRequest("\(key) must be a number.", param: key) }
            chat[key] = value
        }
        if let value = nonNull(request["stop_sequences"]) {
            guard let list = value.arrayValue, list.allSatisfy({ $0.stringValue != nil }) else {
                throw .invalidRequest("stop_sequences must be a list of strings.", param: "stop_sequences")
            }
            if !list.isEmpty { chat["stop"] = value }
        }
        if let user = request["metadata"]?["user_id"]?.stringValue { chat["user"] = .string(user) }

        var parallel: Bool?
        if let tools = nonNull(request["tools"]) {
            guard let list = tools.arrayValue else { throw .invalidRequest("tools must be a list.", param: "tools") }
            var functions: [JSONValue] = []
            for (i, tool) in list.enumerated() {
                let type = tool["type"]?.stringValue ?? "custom"
                guard type == "custom" else {
                    dropped.append("tools.\(i) (server tool \(type))")
                    continue
                }
                guard let name = tool["name"]?.stringValue else {
                    throw .invalidRequest("tools.\(i).name: Field required.", param: "tools.\(i).name")
                }
                var function = JSONObject([("name", .string(name))])
                if let description = tool["description"]?.stringValue { function["description"] = .string(description) }
                function["parameters"] = tool["input_schema"] ?? ["type": "object", "properties": [:]]
                if let strict = tool["strict"]?.boolValue { function["strict"] = .bool(strict) }
                functions.append(["type": "function", "function": .object(function)])
            }
            if !functions.isEmpty { chat["tools"] = .array(functions) }
        }
        if let choice = nonNull(request["tool_choice"]) {
            if choice["disable_parallel_tool_use"]?.boolValue == true { parallel = false }
            switch choice["type"]?.stringValue {
            case "auto": chat["tool_choice"] = "auto"
            case "any": chat["tool_choice"] = "required"
            case "none": chat["tool_choice"] = "none"
            case "tool":
                guard let name = choice["name"]?.stringValue else {
                    throw .invalidRequest("tool_choice.name: Field required for type \"tool\".", param: "tool_choice.name")
                }
                chat["tool_choice"] = ["type": "function", "function": ["name": .string(name)]]
            default:
                throw .invalidRequest("tool_choice.type must be auto, any, tool or none.", param: "tool_choice.type")
            }
            if chat["tools"] == nil { chat["tool_choice"] = nil }
        }
        if let parallel, chat["tools"] != nil { chat["parallel_tool_calls"] = .bool(parallel) }

        if let thinking = nonNull(request["thinking"]) {
            switch thinking["type"]?.stringValue {
            case "enabled":
                let budget = thinking["budget_tokens"]?.intValue ?? 0
                chat["reasoning_effort"] = .string(budget <= 4096 ? "low" : budget <= 16384 ? "medium" : "high")
            case "adaptive":
                chat["reasoning_effort"] = "medium"
            default:
                break
            }
        }
        let format = request["output_config"]?["format"] ?? request["output_format"]
        if let format = nonNull(format) {
            if format["type"]?.stringValue == "json_schema", let schema = format["schema"] {
                chat["response_format"] = ["type": "json_schema", "json_schema": ["name": "output", "schema": schema]]
            } else {
                dropped.append("output_config.format")
            }
        }
        if let effort = request["output_config"]?["effort"]?.stringValue, chat["reasoning_effort"] == nil {
            chat["reasoning_effort"] = .string(["xhigh", "max"].contains(effort) ? "high" : effort)
        }
        for key in ["top_k", "service_tier", "container", "mcp_servers", "context_management", "inference_geo"]
        where nonNull(request[key]) != nil {
            dropped.append(key)
        }
        return Translation(chat: .object(chat), dropped: dropped)
    }

    /// `system` as one string: a string as it is, text blocks joined by blank lines.
    static func systemText(_ system: JSONValue) throws(GatewayError) -> String {
        if let text = system.stringValue { return text }
        guard let blocks = system.arrayValue else { throw .invalidRequest("system must be a string or a list of text blocks.", param: "system") }
        var parts: [String] = []
        for (i, block) in blocks.enumerated() {
            guard block["type"]?.stringValue == "text", let text = block["text"]?.stringValue else {
                throw .invalidRequest("system.\(i) must be a text block.", param: "system.\(i)")
            }
            parts.append(text)
        }
        return parts.joined(separator: "\n\n")
    }

    /// One Messages turn → the chat messages it becomes (a user turn with tool results becomes
    /// several: the tool messages, then the rest of the turn).
    static func translateTurn(_ turn: JSONValue, param: String, dropped: inout [String]) throws(GatewayError) -> [JSONValue] {
        guard let role = turn["role"]?.stringValue, role == "user" || role == "assistant" else {
            throw .invalidRequest("\(param).role must be \"user\" or \"assistant\".", param: "\(param).role")
        }
        guard let content = turn["content"] else { throw .invalidRequest("\(param).content: Field required.", param: "\(param).content") }
        if let text = content.stringValue { return [["role": .string(role), "content": .string(text)]] }
        guard let blocks = content.arrayValue else {
            throw .invalidRequest("\(param).content must be a string or a list of content blocks.", param: "\(param).content")
        }
        if role == "assistant" { return [try assistantMessage(blocks, param: param, dropped: &dropped)] }

        var tools: [JSONValue] = []
        var parts: [JSONValue] = []
        for (i, block) in blocks.enumerated() {
            let at = "\(param).content.\(i)"
            switch block["type"]?.stringValue {
            case "text":
                parts.append(["type": "text", "text": .string(block["text"]?.stringValue ?? "")])
            case "image":
                parts.append(try imagePart(block, param: at))
            case "tool_result":
                guard let id = block["tool_use_id"]?.stringValue else {
                    throw .invalidRequest("\(at).tool_use_id: Field required.", param: "\(at).tool_use_id")
                }
                var text = try toolResultText(block["content"], param: at, dropped: &dropped)
                if block["is_error"]?.boolValue == true { text = "Error: " + text }
                tools.append(["role": "tool", "tool_call_id": .string(ThoughtSignatureID.split(id).id), "content": .string(text)])
            case let type:
                dropped.append("\(at) (\(type ?? "untyped") block)")
            }
        }
        var out = tools
        if !parts.isEmpty {
            // A turn of text only stays a plain string: every upstream takes that.
            let allText = parts.allSatisfy { $0["type"]?.stringValue == "text" }
            let content: JSONValue = allText
                ? .string(parts.compactMap { $0["text"]?.stringValue }.joined(separator: "\n\n")) : .array(parts)
            out.append(["role": "user", "content": content])
        }
        return out
    }

    static func assistantMessage(_ blocks: [JSONValue], param: String, dropped: inout [String]) throws(GatewayError) -> JSONValue {
        var text = ""
        var calls: [JSONValue] = []
        for (i, block) in blocks.enumerated() {
            let at = "\(param).content.\(i)"
            switch block["type"]?.stringValue {
            case "text":
                text += block["text"]?.stringValue ?? ""
            case "tool_use":
                guard let id = block["id"]?.stringValue, let name = block["name"]?.stringValue else {
                    throw .invalidRequest("\(at) needs an id and a name.", param: at)
                }
                let input = block["input"] ?? .object(JSONObject())
                calls.append(ThoughtSignatureID.toolCall(id: id, name: name, arguments: .string(input.serializedString())))
            case "thinking", "redacted_thinking":
                dropped.append("\(at) (\(block["type"]?.stringValue ?? "") block)")
            case let type:
                dropped.append("\(at) (\(type ?? "untyped") block)")
            }
        }
        var message = JSONObject([("role", "assistant")])
        message["content"] = calls.isEmpty || !text.isEmpty ? .string(text) : .null
        if !calls.isEmpty { message["tool_calls"] = .array(calls) }
        return .object(message)
    }

    /// An image block → an `image_url` part (a data URL for base64 sources).
    static func imagePart(_ block: JSONValue, param: String) throws(GatewayError) -> JSONValue {
        let source = block["source"]
        switch source?["type"]?.stringValue {
        case "base64":
            guard let media = source?["media_type"]?.stringValue, let data = source?["data"]?.stringValue else {
                throw .invalidRequest("\(param).source needs media_type and data.", param: "\(param).source")
            }
            return ["type": "image_url", "image_url": ["url": .string("data:\(media);base64,\(data)")]]
        case "url":
            guard let url = source?["url"]?.stringValue else {
                throw .invalidRequest("\(param).source.url: Field required.", param: "\(param).source.url")
            }
            return ["type": "image_url", "image_url": ["url": .string(url)]]
        default:
            throw .invalidRequest("\(param).source.type must be \"base64\" or \"url\".", param: "\(param).source.type")
        }
    }

    /// A tool result's content as text: a string as it is, text blocks joined; images and
    /// documents inside a result have no place in a `tool` message and are dropped.
    static func toolResultText(_ content: JSONValue?, param: String, dropped: inout [String]) throws(GatewayError) -> String {
        guard let content = nonNull(content) else { return "" }
        if let text = content.stringValue { return text }
        guard let blocks = content.arrayValue else {
            throw .invalidRequest("\(param).content must be a string or a list of blocks.", param: "\(param).content")
        }
        var texts: [String] = []
        for (i, block) in blocks.enumerated() {
            if block["type"]?.stringValue == "text" {
                texts.append(block["text"]?.stringValue ?? "")
            } else {
                dropped.append("\(param).content.\(i) (\(block["type"]?.stringValue ?? "untyped") in a tool result)")
            }
        }
        return texts.joined(separator: "\n\n")
    }
}
