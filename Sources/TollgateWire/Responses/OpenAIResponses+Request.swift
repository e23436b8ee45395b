import TollgateCore

/// OpenAI Chat Completions request → OpenAI Responses request (wire-formats.md §2.1, §0.4).
extension OpenAIResponses {
    public func encode(_ request: ChatRequestInput, context: ChatContext) throws(GatewayError) -> UpstreamRequest {
        let body = try Self.requestBody(request.json, context: context)
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        headers.add("Accept", context.stream ? "text/event-stream" : "application/json")
        return UpstreamRequest(url: context.endpoint.url(path: path), headers: headers, body: body.serialized())
    }

    /// The Responses API rejects a `max_output_tokens` below 16 ("Expected a value >= 16"); smaller
    /// limits (a client probing a model with `max_tokens: 1`) are raised to it.
    public static let minimumMaxOutputTokens = 16

    /// The Responses request body for an OpenAI chat request.
    ///
    /// - Every message becomes `input` items in order. `system` and `developer` messages stay messages
    ///   with their own role (the SDK's `EasyInputMessageParam` allows both) rather than being hoisted into
    ///   `instructions`: their position and role are kept, and several need no joining.
    /// - Assistant text is an `output_text` part; each assistant tool call a `function_call` item with the
    ///   tool call id as `call_id`; each `tool` message a `function_call_output` item.
    /// - `tools` are flattened; `strict` is always sent, `false` unless the client set it, because Chat
    ///   Completions defaults to non-strict and the SDK type makes the key required.
    /// - `response_format` and `verbosity` → `text.format` and `text.verbosity`; `reasoning_effort` →
    ///   `reasoning.effort`; `max_completion_tokens` (else `max_tokens`) → `max_output_tokens`, omitted when
    ///   neither is given (the API needs no limit, so the catalog's maximum is not sent).
    /// - `store` is `false` unless the client sent it.
    static func requestBody(_ request: JSONValue, context: ChatContext) throws(GatewayError) -> JSONValue {
        guard case .object(let openAI) = request else {
            throw .invalidRequest("The request body must be a JSON object.")
        }
        guard let messages = openAI["messages"]?.arrayValue else {
            throw .invalidRequest("messages must be an array of messages.", param: "messages")
        }
        var input: [JSONValue] = []
        for (i, message) in messages.enumerated() {
            input += try inputItems(message, param: "messages[\(i)]")
        }

        var body = JSONObject()
        body["model"] = .string(context.upstreamModel)
        body["input"] = .array(input)

        if let tools = try tools(openAI["tools"]), !tools.isEmpty {
            body["tools"] = .array(tools)
            if let choice = try toolChoice(openAI["tool_choice"]) { body["tool_choice"] = choice }
            if let parallel = nonNull(openAI["parallel_tool_calls"]) {
                guard case .bool = parallel else {
                    throw .invalidRequest("parallel_tool_calls must be a boolean.", param: "parallel_tool_calls")
                }
                body["parallel_tool_calls"] = parallel
            }
        }

        var text = JSONObject()
        if let format = try textFormat(openAI["response_format"]) { text["format"] = .object(format) }
        if let verbosity = try stringParameter(openAI["verbosity"], param: "verbosity") { text["verbosity"] = .string(verbosity) }
        if text.count > 0 { body["text"] = .object(text) }

        if let limit = try maxOutputTokens(openAI) { body["max_output_tokens"] = .int(limit) }
        for key in ["temperature", "top_p"] {
            guard let value = nonNull(openAI[key]) else { continue }
            guard value.doubleValue != nil else { throw .invalidRequest("\(key) must be a number.", param: key) }
            body[key] = value
        }
        if let effort = try stringParameter(openAI["reasoning_effort"], param: "reasoning_effort") {
            body["reasoning"] = ["effort": .string(effort)]
        }
        // Same names, same meaning in both APIs.
        for key in ["user", "safety_identifier", "prompt_cache_key", "prompt_cache_retention", "service_tier"] {
            if let value = try stringParameter(openAI[key], param: key) { body[key] = .string(value) }
        }
        if let metadata = nonNull(openAI["metadata"]) {
            guard case .object = metadata else {
                throw .invalidRequest("metadata must be an object of strings.", param: "metadata")
            }
            body["metadata"] = metadata
        }
        // The Responses API stores every response (and its input) server-side unless told otherwise, and
        // Chat Completions clients do not expect that: a gateway must not silently persist conversations.
        // A client that sends `store` gets what it asked for.
        if let store = nonNull(openAI["store"]) {
            guard case .bool = store else { throw .invalidRequest("store must be a boolean.", param: "store") }
            body["store"] = store
        } else {
            body["store"] = false
        }
        if context.stream { body["stream"] = true }
        return .object(body)
    }

    // MARK: messages

    /// One Chat message → its `input` items: a `message`, plus `function_call` items for an assistant's
    /// tool calls, or a `function_call_output` for a `tool` message.
    static func inputItems(_ message: JSONValue, param: String) throws(GatewayError) -> [JSONValue] {
        guard case .object = message, let role = message["role"]?.stringValue else {
            throw .invalidRequest("\(param) must be an object with a role.", param: param)
        }
        let content = message["content"]
        switch role {
        case "system", "developer":
            guard let value = try messageContent(content, param: "\(param).content", role: role) else { return [] }
            return [messageItem(role, value)]
        case "user":
            return [messageItem(role, try messageContent(content, param: "\(param).content", role: role) ?? "")]
        case "assistant":
            var items: [JSONValue] = []
            var parts = try assistantParts(content, param: "\(param).content")
            if let refusal = nonNull(message["refusal"]), !parts.contains(where: { $0["type"] == "refusal" }) {
                guard let text = refusal.stringValue else {
                    throw .invalidRequest("\(param).refusal must be a string.", param: "\(param).refusal")
                }
                parts.append(["type": "refusal", "refusal": .string(text)])
            }
            if !parts.isEmpty { items.append(messageItem(role, .array(parts))) }
            if let calls = nonNull(message["tool_calls"]) {
                guard let calls = calls.arrayValue else {
                    throw .invalidRequest("\(param).tool_calls must be an array.", param: "\(param).tool_calls")
                }
                for (j, call) in calls.enumerated() {
                    items.append(try functionCall(call, param: "\(param).tool_calls[\(j)]"))
                }
            }
            return items
        case "tool":
            return [try functionCallOutput(message, param: param)]
        default:
            throw .invalidRequest("\(param).role \"\(role)\" is not supported by the OpenAI Responses API.",
                                  param: "\(param).role")
        }
    }

    static func messageItem(_ role: String, _ content: JSONValue) -> JSONValue {
        ["type": "message", "role": .string(role), "content": content]
    }

    /// User, system or developer content: a string stays a string; parts become `input_text`, and for
    /// users also `input_image` and `input_file`. Empty system text yields nil (no item).
    static func messageContent(_ content: JSONValue?, param: String, role: String) throws(GatewayError) -> JSONValue? {
        guard let content = nonNull(content) else { return nil }
        if case .string(let text) = content {
            // Not a ternary: with JSONValue nil-literal-expressible, `nil` there would become JSON null.
            guard !text.isEmpty || role == "user" else { return nil }
            return content
        }
        guard let parts = content.arrayValue else {
            throw .invalidRequest("\(param) must be a string or an array of content parts.", param: param)
        }
        var converted: [JSONValue] = []
        for (j, part) in parts.enumerated() {
            let partParam = "\(param)[\(j)]"
            let type = part["type"]?.stringValue ?? ""
            var item: JSONObject
            switch type {
            case "text":
                guard let text = part["text"]?.stringValue else {
                    throw .invalidRequest("\(partParam).text must be a string.", param: "\(partParam).text")
                }
                item = JSONObject([("type", "input_text"), ("text", .string(text))])
            case "image_url" where role == "user":
                item = try inputImage(part, param: partParam)
            case "file" where role == "user":
                item = try inputFile(part, param: partParam)
            default:
                throw .invalidRequest(
                    "\(partParam): content part type \"\(type)\" is not supported here by the OpenAI Responses API.",
                    param: "\(partParam).type")
            }
            // Both APIs mark explicit prompt-cache breakpoints on parts the same way.
            if let breakpoint = part["prompt_cache_breakpoint"], case .object = breakpoint {
                item["prompt_cache_breakpoint"] = breakpoint
            }
            converted.append(.object(item))
        }
        if converted.isEmpty && role != "user" { return nil }
        return .array(converted)
    }

    /// `image_url` → `input_image` with the URL (https or a `data:` URL) as a string. `detail` is required
    /// by the SDK type, so it defaults to `auto`, as in Chat Completions.
    static func inputImage(_ part: JSONValue, param: String) throws(GatewayError) -> JSONObject {
        guard let url = part["image_url"]?["url"]?.stringValue ?? part["image_url"]?.stringValue else {
            throw .invalidRequest("\(param).image_url.url must be a string.", param: "\(param).image_url.url")
        }
        let lower = url.prefix(8).lowercased()
        guard lower.hasPrefix("data:") || lower.hasPrefix("https://") || lower.hasPrefix("http://") else {
            throw .invalidRequest("\(param).image_url.url must be an http(s) URL or a base64 data URL.",
                                  param: "\(param).image_url.url")
        }
        var detail: JSONValue = "auto"
        if let value = nonNull(part["image_url"]?["detail"]) {
            guard case .string = value else {
                throw .invalidRequest("\(param).image_url.detail must be a string.", param: "\(param).image_url.detail")
            }
            detail = value
        }
        return JSONObject([("type", "input_image"), ("image_url", .string(url)), ("detail", detail)])
    }

    /// `file` `{file_data | file_id, filename}` → `input_file` with the same fields.
    static func inputFile(_ part: JSONValue, param: String) throws(GatewayError) -> JSONObject {
        var item = JSONObject([("type", "input_file")])
        for key in ["file_id", "file_data", "filename"] {
            guard let value = nonNull(part["file"]?[key]) else { continue }
            guard case .string = value else {
                throw .invalidRequest("\(param).file.\(key) must be a string.", param: "\(param).file.\(key)")
            }
            item[key] = value
        }
        guard item["file_id"] != nil || item["file_data"] != nil else {
            throw .invalidRequest("\(param).file needs file_data or file_id.", param: "\(param).file")
        }
        return item
    }

    /// Assistant content → `output_text` and `refusal` parts; empty text adds nothing.
    static func assistantParts(_ content: JSONValue?, param: String) throws(GatewayError) -> [JSONValue] {
        guard let content = nonNull(content) else { return [] }
        if case .string(let text) = content { return text.isEmpty ? [] : [["type": "output_text", "text": content]] }
        guard let parts = content.arrayValue else {
            throw .invalidRequest("\(param) must be a string or an array of content parts.", param: param)
        }
        var converted: [JSONValue] = []
        for (j, part) in parts.enumerated() {
            let partParam = "\(param)[\(j)]"
            switch part["type"]?.stringValue {
            case "text":
                guard let text = part["text"]?.stringValue else {
                    throw .invalidRequest("\(partParam).text must be a string.", param: "\(partParam).text")
                }
                if !text.isEmpty { converted.append(["type": "output_text", "text": .string(text)]) }
            case "refusal":
                guard let text = part["refusal"]?.stringValue else {
                    throw .invalidRequest("\(partParam).refusal must be a string.", param: "\(partParam).refusal")
                }
                converted.append(["type": "refusal", "refusal": .string(text)])
            default:
                let type = part["type"]?.stringValue ?? ""
                throw .invalidRequest("\(partParam): content part type \"\(type)\" is not supported in assistant messages.",
                                      param: "\(partParam).type")
            }
        }
        return converted
    }

    /// An assistant `tool_calls` entry → `{type:"function_call", call_id, name, arguments}`. Empty
    /// arguments become `{}`; anything else is passed as the client sent it.
    static func functionCall(_ call: JSONValue, param: String) throws(GatewayError) -> JSONValue {
        guard (call["type"]?.stringValue ?? "function") == "function" else {
            throw .invalidRequest("\(param).type must be \"function\".", param: "\(param).type")
        }
        guard let id = call["id"]?.stringValue, !id.isEmpty else {
            throw .invalidRequest("\(param).id is required.", param: "\(param).id")
        }
        guard let name = call["function"]?["name"]?.stringValue, !name.isEmpty else {
            throw .invalidRequest("\(param).function.name is required.", param: "\(param).function.name")
        }
        var arguments = call["function"]?["arguments"]?.stringValue ?? ""
        if arguments.isEmpty { arguments = "{}" }
        return ["type": "function_call", "call_id": .string(id), "name": .string(name), "arguments": .string(arguments)]
    }

    /// A `tool` message → `{type:"function_call_output", call_id, output}`; text parts are joined.
    static func functionCallOutput(_ message: JSONValue, param: String) throws(GatewayError) -> JSONValue {
        guard let id = message["tool_call_id"]?.stringValue, !id.isEmpty else {
            throw .invalidRequest("\(param).tool_call_id is required.", param: "\(param).tool_call_id")
        }
        var output = ""
        switch nonNull(message["content"]) {
        case nil: break
        case .string(let text)?: output = text
        case .array(let parts)?:
            for (j, part) in parts.enumerated() {
                guard part["type"]?.stringValue == "text", let text = part["text"]?.stringValue else {
                    throw .invalidRequest("\(param).content[\(j)]: tool results take text parts only.",
                                          param: "\(param).content[\(j)].type")
                }
                output += text
            }
        default:
            throw .invalidRequest("\(param).content must be a string or an array of text parts.", param: "\(param).content")
        }
        return ["type": "function_call_output", "call_id": .string(id), "output": .string(output)]
    }

    // MARK: tools

    /// OpenAI function tools → flat `{type:"function", name, description?, parameters, strict}`. A tool
    /// without `parameters` takes no arguments: an empty object schema.
    static func tools(_ value: JSONValue?) throws(GatewayError) -> [JSONValue]? {
        try FunctionTool.read(value, api: "the openai_responses protocol")?.map { tool in
            var converted = JSONObject([("type", "function"), ("name", .string(tool.name))])
            if let description = tool.description { converted["description"] = .string(description) }
            converted["parameters"] = tool.parameters
            converted["strict"] = .bool(tool.strict ?? false)
            return .object(converted)
        }
    }

    /// `tool_choice`: `auto`/`none`/`required` unchanged; `{type:"function", function:{name}}` →
    /// `{type:"function", name}`; `allowed_tools` flattened the same way.
    static func toolChoice(_ value: JSONValue?) throws(GatewayError) -> JSONValue? {
        switch nonNull(value) {
        case nil: return nil
        case .string(let mode)? where ["auto", "none", "required"].contains(mode): return .string(mode)
        case .object(let object)? where object["type"]?.stringValue == "function":
            guard let name = object["function"]?["name"]?.stringValue, !name.isEmpty else {
                throw .invalidRequest("tool_choice.function.name is required.", param: "tool_choice.function.name")
            }
            return ["type": "function", "name": .string(name)]
        case .object(let object)? where object["type"]?.stringValue == "allowed_tools":
            guard let allowed = object["allowed_tools"], let mode = allowed["mode"]?.stringValue,
                  let tools = allowed["tools"]?.arrayValue else {
                throw .invalidRequest("tool_choice.allowed_tools needs mode and tools.", param: "tool_choice.allowed_tools")
            }
            var names: [JSONValue] = []
            for (i, tool) in tools.enumerated() {
                guard let name = tool["function"]?["name"]?.stringValue else {
                    throw .invalidRequest("tool_choice.allowed_tools.tools[\(i)] must name a function.",
                                          param: "tool_choice.allowed_tools.tools[\(i)]")
                }
                names.append(["type": "function", "name": .string(name)])
            }
            return ["type": "allowed_tools", "mode": .string(mode), "tools": .array(names)]
        default:
            throw .invalidRequest("tool_choice must be \"auto\", \"none\", \"required\", a named function or allowed_tools.",
                                  param: "tool_choice")
        }
    }

    // MARK: parameters

    /// `response_format` → `text.format`: `text` and `json_object` as they are; `json_schema` flattened to
    /// `{type, name, schema, description?, strict}` (`strict` false unless set, as in Chat Completions;
    /// `name` "response" when the client left it out).
    static func textFormat(_ value: JSONValue?) throws(GatewayError) -> JSONObject? {
        guard let value = nonNull(value) else { return nil }
        switch value["type"]?.stringValue {
        case "text": return JSONObject([("type", "text")])
        case "json_object": return JSONObject([("type", "json_object")])
        case "json_schema":
            let spec = value["json_schema"]
            guard let schema = spec?["schema"], case .object = schema else {
                throw .invalidRequest("response_format.json_schema.schema must be a JSON schema object.",
                                      param: "response_format.json_schema.schema")
            }
            let name = spec?["name"]?.stringValue ?? "response"
            var format = JSONObject([("type", "json_schema"), ("name", .string(name))])
            if let description = spec?["description"]?.stringValue { format["description"] = .string(description) }
            format["schema"] = schema
            format["strict"] = .bool(spec?["strict"]?.boolValue ?? false)
            return format
        default:
            throw .invalidRequest("response_format.type must be \"text\", \"json_object\" or \"json_schema\".",
                                  param: "response_format.type")
        }
    }

    /// `max_completion_tokens`, else `max_tokens`, raised to `minimumMaxOutputTokens`; nil when neither is set.
    static func maxOutputTokens(_ openAI: JSONObject) throws(GatewayError) -> Int? {
        for key in ["max_completion_tokens", "max_tokens"] {
            guard let value = nonNull(openAI[key]) else { continue }
            guard let n = value.intValue, n > 0 else {
                throw .invalidRequest("\(key) must be a positive integer.", param: key)
            }
            return max(n, minimumMaxOutputTokens)
        }
        return nil
    }
}
