import TollgateCore

/// OpenAI Chat Completions request → Converse request (wire-formats.md §5.2).
extension BedrockConverse {
    public func encode(_ request: ChatRequestInput, context: ChatContext) throws(GatewayError) -> UpstreamRequest {
        let json = request.json
        var translated = try Self.translateMessages(json["messages"])
        var body = JSONObject()

        var outputConfig = JSONObject()
        switch json["response_format"]?["type"]?.stringValue {
        case nil, "text": break
        case "json_object": translated.system.append(["text": .string(Self.jsonObjectInstruction)])
        case "json_schema": outputConfig["textFormat"] = try Self.textFormat(json["response_format"]?["json_schema"])
        case let other?:
            throw .invalidRequest("response_format type \"\(other)\" is not supported by Bedrock Converse.",
                                  param: "response_format.type")
        }
        if let effort = json["reasoning_effort"]?.stringValue, effort != "none" {
            outputConfig["effort"] = .string(effort == "minimal" ? "low" : effort)
        }

        body["messages"] = .array(translated.messages)
        if !translated.system.isEmpty { body["system"] = .array(translated.system) }
        if let inference = try Self.inferenceConfig(json) { body["inferenceConfig"] = .object(inference) }
        if let tools = try Self.toolConfig(json, history: translated.toolNames) { body["toolConfig"] = .object(tools) }
        if outputConfig.count > 0 { body["outputConfig"] = .object(outputConfig) }
        if let user = json["user"]?.stringValue, Self.fitsRequestMetadata(user) {
            body["requestMetadata"] = ["user": .string(user)]
        }

        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        headers.add("Accept", context.stream ? "application/vnd.amazon.eventstream" : "application/json")
        let path = try Bedrock.modelPath(context.upstreamModel, context.stream ? "converse-stream" : "converse")
        return UpstreamRequest(url: context.endpoint.url(path: path), headers: headers, body: JSONValue.object(body).serialized())
    }

    /// Converse's `messages` and `system`, and the names of tools the history calls.
    struct Translation {
        var messages: [JSONValue] = []
        var system: [JSONValue] = []
        var toolNames: [String] = []
    }

    /// OpenAI messages → Converse turns. System and developer messages are hoisted into `system`;
    /// tool results become user turns; consecutive turns of one role merge (Converse needs them
    /// to alternate).
    static func translateMessages(_ value: JSONValue?) throws(GatewayError) -> Translation {
        guard let messages = value?.arrayValue else {
            throw .invalidRequest("messages must be an array.", param: "messages")
        }
        var out = Translation()
        var turns: [(role: String, content: [JSONValue])] = []
        func append(_ role: String, _ blocks: [JSONValue]) {
            guard !blocks.isEmpty else { return }
            if turns.last?.role == role { turns[turns.count - 1].content += blocks } else { turns.append((role, blocks)) }
        }
        for (i, message) in messages.enumerated() {
            let path = "messages[\(i)]"
            guard let role = message["role"]?.stringValue else {
                throw .invalidRequest("\(path).role is missing.", param: "\(path).role")
            }
            switch role {
            case "system", "developer":
                for text in try texts(message["content"], path: path) where !text.isEmpty {
                    out.system.append(["text": .string(text)])
                }
            case "user":
                append("user", try userBlocks(message["content"], path: path))
            case "assistant":
                var blocks = try texts(message["content"], path: path, allowRefusal: true)
                    .filter { !$0.isEmpty }.map { JSONValue.object(JSONObject([("text", .string($0))])) }
                for (k, call) in (message["tool_calls"]?.arrayValue ?? []).enumerated() {
                    let callPath = "\(path).tool_calls[\(k)]"
                    guard let id = call["id"]?.stringValue, !id.isEmpty else {
                        throw .invalidRequest("\(callPath).id is missing.", param: "\(callPath).id")
                    }
                    guard let name = call["function"]?["name"]?.stringValue, !name.isEmpty else {
                        throw .invalidRequest("\(callPath).function.name is missing.", param: "\(callPath).function.name")
                    }
                    out.toolNames.append(name)
                    blocks.append(["toolUse": ["toolUseId": .string(toolUseID(id)), "name": .string(name),
                                               "input": toolInput(call["function"]?["arguments"])]])
                }
                append("assistant", blocks)
            case "tool":
                guard let id = message["tool_call_id"]?.stringValue, !id.isEmpty else {
                    throw .invalidRequest("\(path).tool_call_id is missing.", param: "\(path).tool_call_id")
                }
                let text = try texts(message["content"], path: path).joined()
                let content: [JSONValue] = text.isEmpty ? [] : [["text": .string(text)]]
                append("user", [["toolResult": ["toolUseId": .string(toolUseID(id)), "content": .array(content)]]])
            default:
                throw .invalidRequest("\(path).role \"\(role)\" is not supported by Bedrock Converse.", param: "\(path).role")
            }
        }
        guard !turns.isEmpty else {
            throw .invalidRequest("messages must hold at least one user or assistant message.", param: "messages")
        }
        out.messages = turns.map { ["role": .string($0.role), "content": .array($0.content)] }
        return out
    }

    /// The text of a message's content: a string, or an array of `text` (and `refusal`) parts.
    static func texts(_ content: JSONValue?, path: String, allowRefusal: Bool = false) throws(GatewayError) -> [String] {
        switch content {
        case nil, .null?: return []
        case .string(let text)?: return [text]
        case .array(let parts)?:
            var out: [String] = []
            for (j, part) in parts.enumerated() {
                switch part["type"]?.stringValue {
                case "text": out.append(part["text"]?.stringValue ?? "")
                case "refusal" where allowRefusal: out.append(part["refusal"]?.stringValue ?? "")
                default:
                    let type = part["type"]?.stringValue ?? part.typeName
                    throw .invalidRequest("\(path).content[\(j)] of type \"\(type)\" is not supported here by Bedrock Converse.",
                                          param: "\(path).content[\(j)]")
                }
            }
            return out
        case let other?:
            throw .invalidRequest("\(path).content must be a string or an array, not \(other.typeName).",
                                  param: "\(path).content")
        }
    }

    /// A user message's content as Converse blocks: text and inline images.
    static func userBlocks(_ content: JSONValue?, path: String) throws(GatewayError) -> [JSONValue] {
        guard case .array(let parts)? = content else {
            return try texts(content, path: path).filter { !$0.isEmpty }.map { ["text": .string($0)] }
        }
        var blocks: [JSONValue] = []
        for (j, part) in parts.enumerated() {
            let partPath = "\(path).content[\(j)]"
            switch part["type"]?.stringValue {
            case "text":
                if let text = part["text"]?.stringValue, !text.isEmpty { blocks.append(["text": .string(text)]) }
            case "image_url":
                let url = part["image_url"]?["url"]?.stringValue ?? part["image_url"]?.stringValue ?? ""
                blocks.append(try image(url, path: "\(partPath).image_url.url"))
            default:
                let type = part["type"]?.stringValue ?? part.typeName
                throw .invalidRequest("\(partPath) of type \"\(type)\" is not supported by Bedrock Converse.", param: partPath)
            }
        }
        return blocks
    }

    /// A `data:image/...;base64,` URL as a Converse image block.
    static func image(_ url: String, path: String) throws(GatewayError) -> JSONValue {
        guard url.hasPrefix("data:") else {
            throw .invalidRequest("Bedrock Converse takes images only as bytes: send \(path) as a data: URL "
                                  + "(data:image/png;base64,...); tollgate does not download remote images.", param: path)
        }
        guard let comma = url.firstIndex(of: ","), url[..<comma].hasSuffix(";base64") else {
            throw .invalidRequest("\(path) must be a base64 data: URL.", param: path)
        }
        let mime = url[url.index(url.startIndex, offsetBy: 5)..<comma].dropLast(";base64".count).lowercased()
        let formats = ["image/png": "png", "image/jpeg": "jpeg", "image/jpg": "jpeg", "image/gif": "gif", "image/webp": "webp"]
        guard let format = formats[mime] else {
            throw .invalidRequest("\(path) has type \"\(mime)\"; Bedrock Converse accepts png, jpeg, gif and webp.", param: path)
        }
        let data = String(url[url.index(after: comma)...])
        guard !data.isEmpty else { throw .invalidRequest("\(path) holds no image data.", param: path) }
        return ["image": ["format": .string(format), "source": ["bytes": .string(data)]]]
    }

    /// OpenAI's `arguments` JSON text as the object Converse wants (`{}` when empty or not an object).
    static func toolInput(_ arguments: JSONValue?) -> JSONValue {
        if let arguments, case .object = arguments { return arguments }
        guard let text = arguments?.stringValue, let parsed = try? JSONValue.parse(text), case .object = parsed else {
            return [:]
        }
        return parsed
    }

    /// A tool call id in Converse's alphabet `[a-zA-Z0-9_.:-]{1,64}`. Valid ids pass unchanged;
    /// others are rewritten the same way every time, so a call and its result still match.
    static func toolUseID(_ id: String) -> String {
        func allowed(_ b: UInt8) -> Bool {
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2E
                || b == 0x3A || b == 0x2D
        }
        if id.utf8.count <= 64, id.utf8.allSatisfy(allowed) { return id }
        let cleaned = String(decoding: id.utf8.map { allowed($0) ? $0 : UInt8(ascii: "_") }, as: UTF8.self)
        if cleaned.utf8.count <= 64 { return cleaned }
        let digits = String(CRC32.checksum(id.utf8), radix: 16)
        return String(cleaned.prefix(55)) + "_" + String(repeating: "0", count: 8 - digits.count) + digits
    }

    /// `inferenceConfig` from max tokens, temperature, top_p and stop; nil when none is set.
    static func inferenceConfig(_ json: JSONValue) throws(GatewayError) -> JSONObject? {
        var config = JSONObject()
        for key in ["max_completion_tokens", "max_tokens"] {
            guard let value = json[key], !value.isNull else { continue }
            guard let tokens = value.intValue, tokens >= 1 else {
                throw .invalidRequest("\(key) must be a positive integer.", param: key)
            }
            config["maxTokens"] = .int(tokens)
            break
        }
        if let value = json["temperature"], !value.isNull {
            guard let t = value.doubleValue else { throw .invalidRequest("temperature must be a number.", param: "temperature") }
            config["temperature"] = t > 1 ? 1 : value
        }
        if let value = json["top_p"], !value.isNull {
            guard value.doubleValue != nil else { throw .invalidRequest("top_p must be a number.", param: "top_p") }
            config["topP"] = value
        }
        switch json["stop"] {
        case nil, .null?: break
        case .string(let s)?: if !s.isEmpty { config["stopSequences"] = [.string(s)] }
        case .array(let items)?:
            var stops: [JSONValue] = []
            for item in items {
                guard let s = item.stringValue else { throw .invalidRequest("stop must hold strings.", param: "stop") }
                if !s.isEmpty { stops.append(.string(s)) }
            }
            if !stops.isEmpty { config["stopSequences"] = .array(stops) }
        default: throw .invalidRequest("stop must be a string or an array of strings.", param: "stop")
        }
        return config.count > 0 ? config : nil
    }

    /// `toolConfig` from `tools` and `tool_choice`; `history` names the tools earlier turns called.
    static func toolConfig(_ json: JSONValue, history: [String]) throws(GatewayError) -> JSONObject? {
        var specs: [JSONValue] = []
        for (i, tool) in (json["tools"]?.arrayValue ?? []).enumerated() {
            guard tool["type"]?.stringValue ?? "function" == "function", let function = tool["function"],
                  let name = function["name"]?.stringValue, !name.isEmpty
            else {
                throw .invalidRequest("tools[\(i)] must be a function tool with a name.", param: "tools[\(i)]")
            }
            var spec = JSONObject([("name", .string(name))])
            if let description = function["description"]?.stringValue, !description.isEmpty {
                spec["description"] = .string(description)
            }
            let schema = function["parameters"].flatMap { $0.isNull ? nil : $0 } ?? ["type": "object", "properties": [:]]
            spec["inputSchema"] = ["json": schema]
            if let strict = function["strict"]?.boolValue { spec["strict"] = .bool(strict) }
            specs.append(["toolSpec": .object(spec)])
        }

        var choice: JSONValue?
        var omitTools = false
        switch json["tool_choice"] {
        case nil, .null?, .string("auto")?: choice = specs.isEmpty ? nil : ["auto": [:]]
        case .string("required")?: choice = specs.isEmpty ? nil : ["any": [:]]
        case .string("none")?: omitTools = true
        case .object(let object)?:
            guard let name = object["function"]?["name"]?.stringValue, !name.isEmpty else {
                throw .invalidRequest("tool_choice must name a function.", param: "tool_choice.function.name")
            }
            choice = ["tool": ["name": .string(name)]]
        case let other?:
            throw .invalidRequest("tool_choice \(other) is not supported by Bedrock Converse.", param: "tool_choice")
        }

        if specs.isEmpty, !history.isEmpty {
            // Converse refuses toolUse/toolResult blocks without a toolConfig.
            var seen = Set<String>()
            for name in history where seen.insert(name).inserted {
                specs.append(["toolSpec": ["name": .string(name), "inputSchema": ["json": ["type": "object", "properties": [:]]]]])
            }
        }
        if specs.isEmpty || (omitTools && history.isEmpty) { return nil }
        var config = JSONObject([("tools", .array(specs))])
        if let choice, !omitTools { config["toolChoice"] = choice }
        return config
    }

    /// `outputConfig.textFormat` from OpenAI's `json_schema` object; Converse wants the schema as text.
    static func textFormat(_ value: JSONValue?) throws(GatewayError) -> JSONValue {
        guard let value, let schema = value["schema"], case .object = schema else {
            throw .invalidRequest("response_format.json_schema.schema must be a JSON Schema object.",
                                  param: "response_format.json_schema.schema")
        }
        var definition = JSONObject([("schema", .string(schema.serializedString()))])
        if let name = value["name"]?.stringValue { definition["name"] = .string(name) }
        if let description = value["description"]?.stringValue { definition["description"] = .string(description) }
        return ["type": "json_schema", "structure": ["jsonSchema": .object(definition)]]
    }

    /// `requestMetadata` values: at most 256 of `[a-zA-Z0-9\s:_@$#=/+,-.]`.
    static func fitsRequestMetadata(_ value: String) -> Bool {
        value.utf8.count <= 256 && value.utf8.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || " \t\n\r\u{0B}\u{0C}:_@$#=/+,-.".utf8.contains(b)
        }
    }
}
