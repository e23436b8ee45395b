import TollgateCore

/// OpenAI Chat Completions request → Anthropic Messages request (wire-formats.md §3.1, §0.4, §8).
extension AnthropicMessages {
    public func encode(_ request: ChatRequestInput, context: ChatContext) throws(GatewayError) -> UpstreamRequest {
        let body = try Self.requestBody(request.json, context: context)
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        headers.add("Accept", context.stream ? "text/event-stream" : "application/json")
        headers.add("anthropic-version", Self.apiVersion)
        return UpstreamRequest(url: context.endpoint.url(path: path), headers: headers, body: body.serialized())
    }

    /// `max_tokens` when the request sets neither `max_completion_tokens` nor `max_tokens` and the
    /// catalog knows no output limit for the model. Anthropic requires the field; 4096 is within
    /// every current Claude model's limit.
    public static let defaultMaxTokens = 4096

    /// Added to the system prompt for `response_format: {"type":"json_object"}`: Anthropic has no
    /// schema-less JSON mode (`output_config.format` needs a schema), so JSON is asked for in words.
    public static let jsonObjectInstruction = "Respond with a single valid JSON object and nothing else."

    /// Image types Anthropic accepts in a base64 source.
    static let imageMediaTypes: Set<String> = ["image/jpeg", "image/png", "image/gif", "image/webp"]

    /// The Anthropic request body for an OpenAI chat request.
    ///
    /// - `system`/`developer` messages, wherever they are, become the top-level `system` (a string when
    ///   there is one text, else text blocks in order).
    /// - Consecutive turns of one role are merged; `tool` messages become `tool_result` blocks of a user turn.
    /// - `max_tokens` = `max_completion_tokens`, else `max_tokens`, else `context.maxOutputTokens`,
    ///   else `defaultMaxTokens`.
    /// - `temperature` is clamped to Anthropic's 0–1. Recent Claude models reject `temperature` together
    ///   with `top_p`, so `top_p` is sent only when `temperature` is absent.
    /// - `response_format` `json_schema` → `output_config.format`; `json_object` → `jsonObjectInstruction`.
    static func requestBody(_ request: JSONValue, context: ChatContext) throws(GatewayError) -> JSONValue {
        guard case .object(let openAI) = request else {
            throw .invalidRequest("The request body must be a JSON object.")
        }
        guard let messages = openAI["messages"]?.arrayValue else {
            throw .invalidRequest("messages must be an array of messages.", param: "messages")
        }
        var conversation = Conversation()
        for (i, message) in messages.enumerated() {
            try conversation.add(message, param: "messages[\(i)]")
        }

        var body = JSONObject()
        body["model"] = .string(context.upstreamModel)
        body["max_tokens"] = .int(try maxTokens(openAI, context: context))

        var outputConfig: JSONObject?
        switch try responseFormat(openAI["response_format"]) {
        case .none: break
        case .jsonObject: conversation.system.append(textBlock(jsonObjectInstruction))
        case .jsonSchema(let schema): outputConfig = JSONObject([("format", ["type": "json_schema", "schema": schema])])
        }
        if let system = conversation.systemValue { body["system"] = system }
        body["messages"] = .array(conversation.turns.map { turn -> JSONValue in
            ["role": .string(turn.role), "content": Conversation.contentValue(turn.blocks)]
        })

        if let tools = try tools(openAI["tools"]), !tools.isEmpty {
            body["tools"] = .array(tools)
            if let choice = try toolChoice(openAI["tool_choice"], parallel: openAI["parallel_tool_calls"]) {
                body["tool_choice"] = .object(choice)
            }
        }

        if let temperature = try numberParameter(openAI["temperature"], param: "temperature") {
            let clamped: JSONValue = temperature < 0 ? 0 : temperature > 1 ? 1 : openAI["temperature"]!
            body["temperature"] = clamped
        } else if try numberParameter(openAI["top_p"], param: "top_p") != nil {
            body["top_p"] = openAI["top_p"]
        }
        if let stop = try stopSequences(openAI["stop"]) { body["stop_sequences"] = .array(stop) }
        for key in ["safety_identifier", "user"] {
            guard let user = nonNull(openAI[key]) else { continue }
            guard case .string = user else { throw .invalidRequest("\(key) must be a string.", param: key) }
            body["metadata"] = ["user_id": user]
            break
        }
        if let outputConfig { body["output_config"] = .object(outputConfig) }
        if context.stream { body["stream"] = true }
        return .object(body)
    }

    // MARK: messages

    /// The conversation being built: system text blocks and alternating user/assistant turns.
    struct Conversation {
        var system: [JSONValue] = []
        var turns: [(role: String, blocks: [JSONValue])] = []

        mutating func add(_ message: JSONValue, param: String) throws(GatewayError) {
            guard case .object = message, let role = message["role"]?.stringValue else {
                throw .invalidRequest("\(param) must be an object with a role.", param: param)
            }
            let content = message["content"]
            switch role {
            case "system", "developer":
                system += try contentBlocks(content, param: "\(param).content", allowImages: false)
            case "user":
                append("user", try contentBlocks(content, param: "\(param).content", allowImages: true))
            case "assistant":
                var blocks = try contentBlocks(content, param: "\(param).content", allowImages: false)
                if let calls = nonNull(message["tool_calls"]) {
                    guard let calls = calls.arrayValue else {
                        throw .invalidRequest("\(param).tool_calls must be an array.", param: "\(param).tool_calls")
                    }
                    for (j, call) in calls.enumerated() {
                        blocks.append(try toolUse(call, param: "\(param).tool_calls[\(j)]"))
                    }
                }
                append("assistant", blocks)
            case "tool":
                append("user", [try toolResult(message, param: param)])
            default:
                throw .invalidRequest("\(param).role \"\(role)\" is not supported by the Anthropic Messages API.",
                                      param: "\(param).role")
            }
        }

        /// Adds blocks as a turn of `role`, merged into the previous turn when that has the same role.
        /// A message without content adds nothing (Anthropic rejects empty turns).
        mutating func append(_ role: String, _ blocks: [JSONValue]) {
            guard !blocks.isEmpty else { return }
            if let last = turns.indices.last, turns[last].role == role {
                turns[last].blocks += blocks
            } else {
                turns.append((role, blocks))
            }
        }

        var systemValue: JSONValue? {
            // Not a ternary: with JSONValue nil-literal-expressible, `nil` there would become JSON null.
            guard !system.isEmpty else { return nil }
            return Self.contentValue(system)
        }

        /// A lone plain text block as a string (the API's shorthand), anything else as the block array.
        static func contentValue(_ blocks: [JSONValue]) -> JSONValue {
            if blocks.count == 1, let only = blocks[0].objectValue, only.count == 2, let text = only["text"] {
                return text
            }
            return .array(blocks)
        }
    }

    /// OpenAI message content (a string or content parts) → Anthropic text and image blocks.
    static func contentBlocks(_ content: JSONValue?, param: String, allowImages: Bool) throws(GatewayError) -> [JSONValue] {
        guard let content = nonNull(content) else { return [] }
        if case .string(let text) = content { return text.isEmpty ? [] : [textBlock(text)] }
        guard let parts = content.arrayValue else {
            throw .invalidRequest("\(param) must be a string or an array of content parts.", param: param)
        }
        var blocks: [JSONValue] = []
        for (j, part) in parts.enumerated() {
            let partParam = "\(param)[\(j)]"
            let type = part["type"]?.stringValue ?? ""
            var block: JSONObject
            switch type {
            case "text", "refusal":
                guard let text = part[type]?.stringValue else {
                    throw .invalidRequest("\(partParam).\(type) must be a string.", param: "\(partParam).\(type)")
                }
                if text.isEmpty { continue }
                block = JSONObject([("type", "text"), ("text", .string(text))])
            case "image_url" where allowImages:
                block = try imageBlock(part, param: partParam)
            default:
                throw .invalidRequest("\(partParam): content part type \"\(type)\" is not supported here by the Anthropic Messages API.",
                                      param: "\(partParam).type")
            }
            // Clients that know Anthropic mark cache breakpoints on parts (OpenRouter's convention).
            if let cacheControl = part["cache_control"], case .object = cacheControl { block["cache_control"] = cacheControl }
            blocks.append(.object(block))
        }
        return blocks
    }

    static func textBlock(_ text: String) -> JSONValue { ["type": "text", "text": .string(text)] }

    /// `image_url` → `source` `base64` (from a `data:` URL) or `url` (http/https).
    static func imageBlock(_ part: JSONValue, param: String) throws(GatewayError) -> JSONObject {
        guard let url = part["image_url"]?["url"]?.stringValue ?? part["image_url"]?.stringValue else {
            throw .invalidRequest("\(param).image_url.url must be a string.", param: "\(param).image_url.url")
        }
        let source: JSONValue
        if url.hasPrefix("data:") {
            guard let comma = url.firstIndex(of: ","), url[..<comma].hasSuffix(";base64") else {
                throw .invalidRequest("\(param).image_url.url must be a base64 data URL (data:image/png;base64,...).",
                                      param: "\(param).image_url.url")
            }
            // data:image/png[;param=value...];base64,DATA
            let header = url[url.index(url.startIndex, offsetBy: 5)..<comma]
            var mediaType = header.prefix { $0 != ";" }.lowercased()
            if mediaType == "image/jpg" { mediaType = "image/jpeg" }
            guard imageMediaTypes.contains(mediaType) else {
                throw .invalidRequest("\(param): image type \"\(mediaType)\" is not supported by Anthropic (jpeg, png, gif, webp).",
                                      param: "\(param).image_url.url")
            }
            source = ["type": "base64", "media_type": .string(mediaType), "data": .string(String(url[url.index(after: comma)...]))]
        } else if url.lowercased().hasPrefix("https://") || url.lowercased().hasPrefix("http://") {
            source = ["type": "url", "url": .string(url)]
        } else {
            throw .invalidRequest("\(param).image_url.url must be an http(s) URL or a base64 data URL.",
                                  param: "\(param).image_url.url")
        }
        return JSONObject([("type", "image"), ("source", source)])
    }

    /// An assistant `tool_calls` entry → a `tool_use` block. `arguments` (a JSON string) becomes the
    /// `input` object; empty or unparsable arguments become `{}`.
    static func toolUse(_ call: JSONValue, param: String) throws(GatewayError) -> JSONValue {
        guard (call["type"]?.stringValue ?? "function") == "function" else {
            throw .invalidRequest("\(param).type must be \"function\".", param: "\(param).type")
        }
        guard let id = call["id"]?.stringValue, !id.isEmpty else {
            throw .invalidRequest("\(param).id is required.", param: "\(param).id")
        }
        guard let name = call["function"]?["name"]?.stringValue, !name.isEmpty else {
            throw .invalidRequest("\(param).function.name is required.", param: "\(param).function.name")
        }
        var input = JSONValue.object(JSONObject())
        if let arguments = call["function"]?["arguments"]?.stringValue,
           let parsed = try? JSONValue.parse(arguments), case .object = parsed {
            input = parsed
        }
        return ["type": "tool_use", "id": .string(id), "name": .string(name), "input": input]
    }

    /// A `tool` message → a `tool_result` block answering `tool_call_id`.
    static func toolResult(_ message: JSONValue, param: String) throws(GatewayError) -> JSONValue {
        guard let id = message["tool_call_id"]?.stringValue, !id.isEmpty else {
            throw .invalidRequest("\(param).tool_call_id is required.", param: "\(param).tool_call_id")
        }
        var block = JSONObject([("type", "tool_result"), ("tool_use_id", .string(id))])
        if case .string(let text)? = message["content"] {
            if !text.isEmpty { block["content"] = .string(text) }
        } else {
            let blocks = try contentBlocks(message["content"], param: "\(param).content", allowImages: true)
            if !blocks.isEmpty { block["content"] = .array(blocks) }
        }
        return .object(block)
    }

    // MARK: tools

    /// OpenAI function tools → `{name, description, input_schema}`. `strict` is not forwarded:
    /// Anthropic supports it only on recent models.
    static func tools(_ value: JSONValue?) throws(GatewayError) -> [JSONValue]? {
        try FunctionTool.read(value, api: "the Anthropic Messages API")?.map { tool in
            var converted = JSONObject([("name", .string(tool.name))])
            if let description = tool.description { converted["description"] = .string(description) }
            converted["input_schema"] = tool.parameters
            return .object(converted)
        }
    }

    /// `tool_choice` auto/none/required/named → `{type: auto|none|any|tool}`; `parallel_tool_calls: false`
    /// → `disable_parallel_tool_use: true` (on `auto` when no choice was given; `none` takes no flag).
    static func toolChoice(_ value: JSONValue?, parallel: JSONValue?) throws(GatewayError) -> JSONObject? {
        var choice: JSONObject?
        switch nonNull(value) {
        case nil: choice = nil
        case .string("auto")?: choice = JSONObject([("type", "auto")])
        case .string("none")?: choice = JSONObject([("type", "none")])
        case .string("required")?: choice = JSONObject([("type", "any")])
        case .object(let object)? where object["type"]?.stringValue == "function":
            guard let name = object["function"]?["name"]?.stringValue, !name.isEmpty else {
                throw .invalidRequest("tool_choice.function.name is required.", param: "tool_choice.function.name")
            }
            choice = JSONObject([("type", "tool"), ("name", .string(name))])
        default:
            throw .invalidRequest("tool_choice must be \"auto\", \"none\", \"required\" or a named function for the Anthropic Messages API.",
                                  param: "tool_choice")
        }
        if parallel?.boolValue == false, choice?["type"]?.stringValue != "none" {
            if choice == nil { choice = JSONObject([("type", "auto")]) }
            choice?["disable_parallel_tool_use"] = true
        }
        return choice
    }

    // MARK: parameters

    enum ResponseFormat {
        case none
        case jsonObject
        case jsonSchema(JSONValue)
    }

    static func responseFormat(_ value: JSONValue?) throws(GatewayError) -> ResponseFormat {
        guard let value = nonNull(value) else { return .none }
        switch value["type"]?.stringValue {
        case "text": return .none
        case "json_object": return .jsonObject
        case "json_schema":
            guard let schema = value["json_schema"]?["schema"], case .object = schema else {
                throw .invalidRequest("response_format.json_schema.schema must be a JSON schema object.",
                                      param: "response_format.json_schema.schema")
            }
            return .jsonSchema(schema)
        default:
            throw .invalidRequest("response_format.type must be \"text\", \"json_object\" or \"json_schema\".",
                                  param: "response_format.type")
        }
    }

    static func maxTokens(_ openAI: JSONObject, context: ChatContext) throws(GatewayError) -> Int {
        for key in ["max_completion_tokens", "max_tokens"] {
            guard let value = nonNull(openAI[key]) else { continue }
            guard let n = value.intValue, n >= 0 else {
                throw .invalidRequest("\(key) must be a non-negative integer.", param: key)
            }
            return n
        }
        return context.maxOutputTokens ?? defaultMaxTokens
    }

    static func stopSequences(_ value: JSONValue?) throws(GatewayError) -> [JSONValue]? {
        switch nonNull(value) {
        case nil: return nil
        case .string(let s)?: return [.string(s)]
        case .array(let items)? where items.allSatisfy({ $0.stringValue != nil }): return items.isEmpty ? nil : items
        default: throw .invalidRequest("stop must be a string or an array of strings.", param: "stop")
        }
    }
}
