import TollgateCore

/// `GenerateContentResponse` → OpenAI `chat.completion` and chunk bodies (wire-formats.md §4.3).
extension GeminiChat {
    public func decodeResponse(status: Int, headers: HTTPHeaders, body: [UInt8],
                               context: ChatContext) throws(GatewayError) -> ChatResult {
        guard let json = try? JSONValue.parse(body), case .object = json else {
            throw GatewayError.badGateway("The upstream answered HTTP \(status) with a body that is not a JSON object.",
                                          code: "invalid_upstream_response")
        }
        if let error = Gemini.errorObject(json) {
            throw Gemini.error(error, status: status >= 400 ? status : 502, headers: headers)
        }
        var translator = ResponseTranslator(context: context)
        return ChatResult(body: translator.completion(json).serialized(), usage: Gemini.usage(json["usageMetadata"]))
    }

    /// Turns `GenerateContentResponse` documents (https://ai.google.dev/api/generate-content#generatecontentresponse)
    /// into OpenAI shapes. Tool calls are numbered across the whole answer, so one translator serves
    /// one answer, streamed or not.
    struct ResponseTranslator {
        let id: String
        let created: Int
        let model: String
        let requestID: String
        var toolCallsSoFar = 0

        init(context: ChatContext) {
            id = "chatcmpl-\(context.requestID)"
            created = context.created
            model = context.upstreamModel
            requestID = context.requestID
        }

        /// The visible text and the function calls of a candidate's parts. Thought summaries
        /// (`thought: true`) are left out; other part kinds (code execution, images) are ignored.
        mutating func translate(_ parts: [JSONValue]) -> (text: String?, calls: [JSONObject]) {
            var text: String?
            var calls: [JSONObject] = []
            for part in parts {
                if let call = part["functionCall"], case .object = call {
                    calls.append(toolCall(call, signature: part["thoughtSignature"]?.stringValue))
                } else if let piece = part["text"]?.stringValue, part["thought"]?.boolValue != true {
                    text = (text ?? "") + piece
                }
            }
            return (text, calls)
        }

        /// An OpenAI tool call with JSON-string arguments; the thought signature rides along where
        /// Google's OpenAI-compatible endpoint puts it, for the client to send back.
        mutating func toolCall(_ call: JSONValue, signature: String?) -> JSONObject {
            let args = call["args"].flatMap { $0.isNull ? nil : $0.serializedString() } ?? "{}"
            var object = JSONObject([
                ("id", .string(Gemini.toolCallID(requestID: requestID, index: toolCallsSoFar))),
                ("type", "function"),
                ("function", ["name": .string(call["name"]?.stringValue ?? ""), "arguments": .string(args)]),
            ])
            if let signature { object["extra_content"] = ["google": ["thought_signature": .string(signature)]] }
            toolCallsSoFar += 1
            return object
        }

        /// A candidate's OpenAI finish reason; a candidate without one ended normally.
        static func finishReason(_ candidate: JSONValue, hasToolCalls: Bool) -> String {
            Gemini.finishReason(candidate["finishReason"]?.stringValue ?? "STOP", hasToolCalls: hasToolCalls)
        }

        // MARK: whole answers

        /// A whole answer as a `chat.completion`. No candidates means the prompt was blocked
        /// (`promptFeedback.blockReason`): one empty choice finished by `content_filter`.
        mutating func completion(_ json: JSONValue) -> JSONValue {
            var choices: [JSONValue] = []
            for (position, candidate) in (json["candidates"]?.arrayValue ?? []).enumerated() {
                let (text, calls) = translate(candidate["content"]?["parts"]?.arrayValue ?? [])
                var message = JSONObject([("role", "assistant"),
                                          ("content", text.map { .string($0) } ?? (calls.isEmpty ? "" : .null))])
                if !calls.isEmpty { message["tool_calls"] = .array(calls.map { .object($0) }) }
                choices.append(.object(JSONObject([
                    ("index", .int(candidate["index"]?.intValue ?? position)), ("message", .object(message)),
                    ("finish_reason", .string(Self.finishReason(candidate, hasToolCalls: !calls.isEmpty))),
                ])))
            }
            if choices.isEmpty {
                let blocked = json["promptFeedback"]?["blockReason"]?.stringValue != nil
                choices.append(.object(JSONObject([
                    ("index", 0), ("message", ["role": "assistant", "content": ""]),
                    ("finish_reason", blocked ? "content_filter" : "stop"),
                ])))
            }
            var body = JSONObject([("id", .string(id)), ("object", "chat.completion"), ("created", .int(created)),
                                   ("model", .string(model)), ("choices", .array(choices))])
            if let usage = Gemini.usage(json["usageMetadata"]) { body["usage"] = usage.openAIJSON }
            return .object(body)
        }

        // MARK: stream chunks

        /// A `chat.completion.chunk` with one choice.
        func chunk(index: Int, delta: JSONObject, finishReason: String? = nil) -> String {
            let choice = JSONObject([("index", .int(index)), ("delta", .object(delta)),
                                     ("finish_reason", finishReason.map { .string($0) } ?? .null)])
            return chunk(choices: [.object(choice)])
        }

        /// The chunk OpenAI sends for `stream_options.include_usage`: no choices, the usage.
        func usageChunk(_ usage: Usage) -> String {
            chunk(choices: [], usage: usage.openAIJSON)
        }

        func chunk(choices: [JSONValue], usage: JSONValue? = nil) -> String {
            var body = JSONObject([("id", .string(id)), ("object", "chat.completion.chunk"), ("created", .int(created)),
                                   ("model", .string(model)), ("choices", .array(choices))])
            if let usage { body["usage"] = usage }
            return JSONValue.object(body).serializedString()
        }
    }
}
