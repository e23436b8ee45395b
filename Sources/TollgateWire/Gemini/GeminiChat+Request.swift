import TollgateCore

/// OpenAI Chat Completions request → `generateContent` request (wire-formats.md §4.1).
extension GeminiChat {
    public func encode(_ request: ChatRequestInput, context: ChatContext) throws(GatewayError) -> UpstreamRequest {
        var encoder = RequestEncoder(model: context.upstreamModel)
        let body = try encoder.body(for: request.json)
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        let url: String
        if context.stream {
            headers.add("Accept", "text/event-stream")
            url = context.endpoint.url(path: try Gemini.path(model: context.upstreamModel, method: "streamGenerateContent", apiVersion: apiVersion),
                                       extraQuery: "alt=sse")
        } else {
            headers.add("Accept", "application/json")
            url = context.endpoint.url(path: try Gemini.path(model: context.upstreamModel, method: "generateContent", apiVersion: apiVersion))
        }
        return UpstreamRequest(url: url, headers: headers, body: body.serialized())
    }

    /// Translates an OpenAI chat request into a `GenerateContentRequest` body
    /// (https://ai.google.dev/api/generate-content#request-body).
    struct RequestEncoder {
        let model: String
        /// Turns in order; consecutive messages of one role share a turn (parallel tool
        /// results must arrive together, and older models insist on alternating roles).
        var contents: [(role: String, parts: [JSONValue])] = []
        var systemParts: [JSONValue] = []
        /// Function names by tool-call id, from the assistant messages read so far.
        var toolNames: [String: String] = [:]

        init(model: String) { self.model = model }

        mutating func body(for request: JSONValue) throws(GatewayError) -> JSONValue {
            guard let messages = request["messages"]?.arrayValue else {
                throw .invalidRequest("\"messages\" must be an array of messages.", param: "messages")
            }
            for (i, message) in messages.enumerated() { try add(message, at: "messages[\(i)]") }
            guard !contents.isEmpty else {
                throw .invalidRequest("Gemini needs at least one user or assistant message besides system messages.",
                                      param: "messages")
            }
            var body = JSONObject()
            body["contents"] = .array(contents.map { ["role": .string($0.role), "parts": .array($0.parts)] })
            if !systemParts.isEmpty { body["systemInstruction"] = ["parts": .array(systemParts)] }
            if let tools = try tools(request["tools"]) {
                body["tools"] = tools
                if let choice = try toolConfig(request["tool_choice"]) { body["toolConfig"] = choice }
            }
            let config = try generationConfig(request)
            if config.count > 0 { body["generationConfig"] = .object(config) }
            return .object(body)
        }

        // MARK: messages

        mutating func add(_ message: JSONValue, at path: String) throws(GatewayError) {
            let content = present(message["content"])
            switch message["role"]?.stringValue {
            case "system", "developer":
                systemParts += try texts(content, at: "\(path).content").map { ["text": .string($0)] }
            case "user":
                append("user", try userParts(content, at: "\(path).content"))
            case "assistant":
                append("model", try assistantParts(message, at: path))
            case "tool":
                guard let id = message["tool_call_id"]?.stringValue else {
                    throw .invalidRequest("A tool message needs \"tool_call_id\".", param: "\(path).tool_call_id")
                }
                guard let name = toolNames[id] else {
                    throw .invalidRequest("tool_call_id \"\(id)\" matches no tool call of an earlier assistant message; "
                                          + "Gemini needs the function's name.", param: "\(path).tool_call_id")
                }
                append("user", [functionResponse(name: name, content: try texts(content, at: "\(path).content"))])
            case "function":
                guard let name = message["name"]?.stringValue else {
                    throw .invalidRequest("A function message needs \"name\".", param: "\(path).name")
                }
                append("user", [functionResponse(name: name, content: try texts(content, at: "\(path).content"))])
            case let role:
                throw .invalidRequest("Message role \"\(role ?? "")\" is not supported.", param: "\(path).role")
            }
        }

        mutating func append(_ role: String, _ parts: [JSONValue]) {
            guard !parts.isEmpty else { return }
            if contents.last?.role == role {
                contents[contents.count - 1].parts += parts
            } else {
                contents.append((role, parts))
            }
        }

        /// Text of a system, tool or assistant message: a string or an array of text parts.
        func texts(_ content: JSONValue?, at path: String) throws(GatewayError) -> [String] {
            switch content {
            case nil: return []
            case .string(let text)?: return text.isEmpty ? [] : [text]
            case .array(let items)?:
                var out: [String] = []
                for (j, item) in items.enumerated() {
                    switch item["type"]?.stringValue {
                    case "text":
                        if let text = item["text"]?.stringValue, !text.isEmpty { out.append(text) }
                    case "refusal":
                        if let text = item["refusal"]?.stringValue, !text.isEmpty { out.append(text) }
                    case let type:
                        throw .invalidRequest("Content part type \"\(type ?? "")\" is not supported here; only text is.",
                                              param: "\(path)[\(j)].type")
                    }
                }
                return out
            default:
                throw .invalidRequest("\"content\" must be a string or an array of content parts.", param: path)
            }
        }

        func userParts(_ content: JSONValue?, at path: String) throws(GatewayError) -> [JSONValue] {
            guard case .array(let items)? = content else {
                return try texts(content, at: path).map { ["text": .string($0)] }
            }
            var parts: [JSONValue] = []
            for (j, item) in items.enumerated() {
                let itemPath = "\(path)[\(j)]"
                switch item["type"]?.stringValue {
                case "text":
                    if let text = item["text"]?.stringValue, !text.isEmpty { parts.append(["text": .string(text)]) }
                case "image_url":
                    guard let url = item["image_url"]?["url"]?.stringValue ?? item["image_url"]?.stringValue else {
                        throw .invalidRequest("An image_url part needs \"image_url.url\".", param: "\(itemPath).image_url.url")
                    }
                    parts.append(try mediaPart(url: url, defaultMIMEType: "image/jpeg", at: "\(itemPath).image_url.url"))
                case "input_audio":
                    guard let data = item["input_audio"]?["data"]?.stringValue,
                          let format = item["input_audio"]?["format"]?.stringValue else {
                        throw .invalidRequest("An input_audio part needs \"data\" and \"format\".", param: "\(itemPath).input_audio")
                    }
                    parts.append(["inlineData": ["mimeType": .string("audio/" + format), "data": .string(data)]])
                case "file":
                    guard let data = item["file"]?["file_data"]?.stringValue else {
                        throw .invalidRequest("Only files sent inline as \"file_data\" can be passed to Gemini, not file ids.",
                                              param: "\(itemPath).file")
                    }
                    parts.append(try mediaPart(url: data, defaultMIMEType: "application/pdf", at: "\(itemPath).file.file_data"))
                case let type:
                    throw .invalidRequest("Content part type \"\(type ?? "")\" is not supported by Gemini.",
                                          param: "\(itemPath).type")
                }
            }
            return parts
        }

        /// A data URL becomes `inlineData`; an http(s) or gs URL becomes `fileData`, which Gemini fetches
        /// itself (public and signed URLs are accepted by current models). `fileData` requires a MIME
        /// type, so it is guessed from the URL's extension, falling back to `defaultMIMEType`.
        func mediaPart(url: String, defaultMIMEType: String, at path: String) throws(GatewayError) -> JSONValue {
            if url.hasPrefix("data:") {
                guard let comma = url.firstIndex(of: ","),
                      url[..<comma].hasSuffix(";base64") else {
                    throw .invalidRequest("A data URL must be base64-encoded (data:TYPE;base64,DATA).", param: path)
                }
                let header = url[url.index(url.startIndex, offsetBy: 5)..<comma]
                let mime = header.split(separator: ";", omittingEmptySubsequences: false).first.map(String.init) ?? ""
                return ["inlineData": ["mimeType": .string(mime.isEmpty ? defaultMIMEType : mime),
                                       "data": .string(String(url[url.index(after: comma)...]))]]
            }
            guard url.hasPrefix("https://") || url.hasPrefix("http://") || url.hasPrefix("gs://") else {
                throw .invalidRequest("A media URL must be a data URL or an http(s) URL.", param: path)
            }
            return ["fileData": ["mimeType": .string(Self.mimeType(forURL: url) ?? defaultMIMEType),
                                 "fileUri": .string(url)]]
        }

        static let mimeTypesByExtension: [String: String] = [
            "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp", "gif": "image/gif",
            "heic": "image/heic", "heif": "image/heif", "pdf": "application/pdf", "txt": "text/plain",
            "wav": "audio/wav", "mp3": "audio/mp3", "flac": "audio/flac", "ogg": "audio/ogg",
            "mp4": "video/mp4", "webm": "video/webm", "mov": "video/quicktime",
        ]

        /// The MIME type named by a URL path's extension (query and fragment ignored).
        static func mimeType(forURL url: String) -> String? {
            let path = url.prefix { $0 != "?" && $0 != "#" }
            guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return nil }
            return mimeTypesByExtension[path[path.index(after: dot)...].lowercased()]
        }

        mutating func assistantParts(_ message: JSONValue, at path: String) throws(GatewayError) -> [JSONValue] {
            var parts: [JSONValue] = try texts(present(message["content"]), at: "\(path).content")
                .map { ["text": .string($0)] }
            guard let calls = present(message["tool_calls"]) else { return parts }
            guard case .array(let list) = calls else {
                throw .invalidRequest("\"tool_calls\" must be an array.", param: "\(path).tool_calls")
            }
            var callParts: [JSONObject] = []
            for (k, call) in list.enumerated() {
                let callPath = "\(path).tool_calls[\(k)]"
                guard let name = call["function"]?["name"]?.stringValue else {
                    throw .invalidRequest("A tool call needs \"function.name\".", param: "\(callPath).function.name")
                }
                if let id = call["id"]?.stringValue { toolNames[id] = name }
                var part = JSONObject([("functionCall", ["name": .string(name),
                                                         "args": Self.arguments(call["function"]?["arguments"])])])
                if let signature = call["extra_content"]?["google"]?["thought_signature"]?.stringValue {
                    part["thoughtSignature"] = .string(signature)
                }
                callParts.append(part)
            }
            // Gemini 3 checks the first call of a turn for a signature; history it did not write has none.
            if !callParts.isEmpty, !callParts.contains(where: { $0["thoughtSignature"] != nil }),
               Gemini.requiresThoughtSignatures(model: model) {
                callParts[0]["thoughtSignature"] = .string(Gemini.skipSignatureValidation)
            }
            parts += callParts.map { .object($0) }
            return parts
        }

        /// OpenAI's arguments are a JSON string; Gemini's `args` an object (`{}` when empty or not an object).
        static func arguments(_ value: JSONValue?) -> JSONValue {
            if let text = value?.stringValue, let parsed = try? JSONValue.parse(text), case .object = parsed {
                return parsed
            }
            if let value, case .object = value { return value }
            return .object(JSONObject())
        }

        /// A tool result. Gemini wants an object: the text goes under `output`, the key the API
        /// documents for a function's result.
        func functionResponse(name: String, content: [String]) -> JSONValue {
            ["functionResponse": ["name": .string(name), "response": ["output": .string(content.joined(separator: "\n"))]]]
        }

        // MARK: tools

        func tools(_ value: JSONValue?) throws(GatewayError) -> JSONValue? {
            guard let value = present(value) else { return nil }
            guard case .array(let list) = value else {
                throw .invalidRequest("\"tools\" must be an array.", param: "tools")
            }
            var declarations: [JSONValue] = []
            for (k, tool) in list.enumerated() {
                guard (tool["type"]?.stringValue ?? "function") == "function" else {
                    throw .invalidRequest("Only function tools can be passed to Gemini.", param: "tools[\(k)].type")
                }
                guard let function = tool["function"], let name = function["name"]?.stringValue else {
                    throw .invalidRequest("A function tool needs \"function.name\".", param: "tools[\(k)].function.name")
                }
                var declaration = JSONObject([("name", .string(name))])
                if let description = function["description"]?.stringValue { declaration["description"] = .string(description) }
                // Plain JSON Schema, as OpenAI clients write it (`parameters` would want Gemini's OpenAPI subset).
                if let parameters = present(function["parameters"]) { declaration["parametersJsonSchema"] = parameters }
                declarations.append(.object(declaration))
            }
            return declarations.isEmpty ? nil : [["functionDeclarations": .array(declarations)]]
        }

        func toolConfig(_ value: JSONValue?) throws(GatewayError) -> JSONValue? {
            guard let value = present(value) else { return nil }
            var config = JSONObject()
            switch value.stringValue {
            case "auto": config["mode"] = "AUTO"
            case "none": config["mode"] = "NONE"
            case "required": config["mode"] = "ANY"
            default:
                guard value["type"]?.stringValue == "function", let name = value["function"]?["name"]?.stringValue else {
                    throw .invalidRequest("tool_choice must be \"auto\", \"none\", \"required\" or a named function.",
                                          param: "tool_choice")
                }
                config["mode"] = "ANY"
                config["allowedFunctionNames"] = [.string(name)]
            }
            return ["functionCallingConfig": .object(config)]
        }

        // MARK: generation config

        func generationConfig(_ request: JSONValue) throws(GatewayError) -> JSONObject {
            var config = JSONObject()
            func number(_ key: String, _ target: String) throws(GatewayError) {
                guard let value = present(request[key]) else { return }
                guard case .number = value else { throw .invalidRequest("\"\(key)\" must be a number.", param: key) }
                config[target] = value
            }
            func integer(_ key: String, _ target: String) throws(GatewayError) {
                guard let value = present(request[key]) else { return }
                guard let int = value.intValue else { throw .invalidRequest("\"\(key)\" must be an integer.", param: key) }
                config[target] = .int(int)
            }
            try number("temperature", "temperature")
            try number("top_p", "topP")
            try integer("n", "candidateCount")
            if let stop = present(request["stop"]) {
                switch stop {
                case .string(let text): config["stopSequences"] = [.string(text)]
                case .array(let list) where list.allSatisfy({ $0.stringValue != nil }): config["stopSequences"] = stop
                default: throw .invalidRequest("\"stop\" must be a string or an array of strings.", param: "stop")
                }
            }
            try integer(present(request["max_completion_tokens"]) != nil ? "max_completion_tokens" : "max_tokens",
                        "maxOutputTokens")
            try number("presence_penalty", "presencePenalty")
            try number("frequency_penalty", "frequencyPenalty")
            try integer("seed", "seed")
            if let format = present(request["response_format"]) {
                switch format["type"]?.stringValue {
                case "text": break
                case "json_object":
                    config["responseMimeType"] = "application/json"
                case "json_schema":
                    config["responseMimeType"] = "application/json"
                    if let schema = present(format["json_schema"]?["schema"]) { config["responseJsonSchema"] = schema }
                default:
                    throw .invalidRequest("response_format.type must be \"text\", \"json_object\" or \"json_schema\".",
                                          param: "response_format.type")
                }
            }
            return config
        }

        /// A value the client really set: JSON null counts as absent.
        func present(_ value: JSONValue?) -> JSONValue? {
            guard let value, !value.isNull else { return nil }
            return value
        }
    }
}
