import TollgateCore

/// The Responses API's SSE stream → OpenAI `chat.completion.chunk`s (wire-formats.md §2.3).
extension OpenAIResponses {
    public func makeStreamDecoder(context: ChatContext) -> any ChatStreamDecoder {
        StreamDecoder(context: context)
    }

    /// Decodes `response.*` and `error` events fed in any split. `response.created` gives the role chunk;
    /// `response.output_text.delta` and `response.refusal.delta` become content and refusal deltas; each
    /// `function_call` output item becomes one OpenAI tool call under a running index (Responses'
    /// `output_index` also counts messages and reasoning items), its arguments arriving as
    /// `response.function_call_arguments.delta`. `response.completed` / `response.incomplete` end the
    /// answer: the finish chunk, the usage, the usage chunk when the client asked for it, and `.done`
    /// (the API sends no `[DONE]`). `response.failed` and `error` events become `.error`. Everything else
    /// (reasoning summaries, content parts, `*.done` events, built-in tools) is ignored; nothing after
    /// the end or an error is decoded.
    struct StreamDecoder: SSEStreamDecoding {
        let context: ChatContext
        var parser = SSEParser()
        /// The response id, creation time and model from `response.created`, repeated on every chunk.
        var id: String
        var created: Int
        var model: String
        var started = false
        var ended = false
        /// Our tool call index by the upstream item id and by output index.
        var toolIndexByItem: [String: Int] = [:]
        var toolIndexByOutput: [Int: Int] = [:]
        var toolCallCount = 0
        /// Tool calls (our index) whose arguments have been sent, in pieces or whole.
        var argumentsSent: Set<Int> = []

        /// Events whose data must be JSON; a corrupt one is an error, while unknown events are skipped.
        static let knownEvents: Set<String> = [
            "response.created", "response.output_text.delta", "response.refusal.delta", "response.output_item.added",
            "response.output_item.done", "response.function_call_arguments.delta",
            "response.function_call_arguments.done", "response.completed", "response.incomplete", "response.failed",
            "error",
        ]

        init(context: ChatContext) {
            self.context = context
            id = "chatcmpl-\(context.requestID)"
            created = context.created
            model = context.upstreamModel
        }

        mutating func decode(_ event: SSEEvent) -> [StreamOutput] {
            guard let json = try? JSONValue.parse(event.data), case .object = json else {
                // Compatible servers may end with Chat's sentinel; it carries nothing.
                if event.data == "[DONE]" { return [] }
                if let name = event.event, !Self.knownEvents.contains(name) { return [] }
                ended = true
                if event.event == "error" {
                    let text = event.data.isEmpty ? "The upstream reported an error mid-stream." : event.data
                    return [.error(.badGateway(text))]
                }
                return [.error(.badGateway("The upstream sent a \(event.event ?? "stream") event that is not a JSON object.",
                                           code: "invalid_upstream_response"))]
            }
            switch json["type"]?.stringValue ?? event.event {
            case "response.created": return responseCreated(json["response"])
            case "response.output_text.delta": return delta("content", json["delta"])
            case "response.refusal.delta": return delta("refusal", json["delta"])
            case "response.output_item.added": return itemAdded(json["item"], outputIndex: json["output_index"]?.intValue)
            case "response.function_call_arguments.delta":
                return argumentsDelta(json["delta"], item: json["item_id"]?.stringValue,
                                      outputIndex: json["output_index"]?.intValue)
            case "response.function_call_arguments.done":
                return argumentsDone(json["arguments"], item: json["item_id"]?.stringValue,
                                     outputIndex: json["output_index"]?.intValue)
            case "response.output_item.done": return itemDone(json["item"], outputIndex: json["output_index"]?.intValue)
            case "response.completed", "response.incomplete": return responseEnded(json["response"])
            case "response.failed": return responseFailed(json["response"])
            case "error":
                ended = true
                return [.error(OpenAIResponses.error(json))]
            default: return []  // in_progress, content_part.*, output_text.done, reasoning_*, built-in tools, ...
            }
        }

        // MARK: events

        mutating func responseCreated(_ response: JSONValue?) -> [StreamOutput] {
            if !started {
                if let value = response?["id"]?.stringValue, !value.isEmpty { id = value }
                if let value = response?["created_at"]?.doubleValue { created = Int(value) }
                if let value = response?["model"]?.stringValue, !value.isEmpty { model = value }
            }
            return start()
        }

        mutating func delta(_ field: String, _ value: JSONValue?) -> [StreamOutput] {
            var outputs = start()
            if let text = value?.stringValue, !text.isEmpty {
                outputs.append(chunk(.object(JSONObject([(field, .string(text))]))))
            }
            return outputs
        }

        /// A `function_call` item opens a tool call: index, id (`call_id`), type and name, and its
        /// arguments when the item already carries them (they are usually empty here).
        mutating func itemAdded(_ item: JSONValue?, outputIndex: Int?) -> [StreamOutput] {
            guard item?["type"]?.stringValue == "function_call" else { return start() }
            return openToolCall(item, outputIndex: outputIndex)
        }

        mutating func openToolCall(_ item: JSONValue?, outputIndex: Int?) -> [StreamOutput] {
            var outputs = start()
            let index = toolCallCount
            toolCallCount += 1
            if let itemID = item?["id"]?.stringValue { toolIndexByItem[itemID] = index }
            if let outputIndex { toolIndexByOutput[outputIndex] = index }
            let arguments = item?["arguments"]?.stringValue ?? ""
            if !arguments.isEmpty { argumentsSent.insert(index) }
            outputs.append(chunk(["tool_calls": [[
                "index": .int(index),
                "id": item?["call_id"] ?? item?["id"] ?? "",
                "type": "function",
                "function": ["name": item?["name"] ?? "", "arguments": .string(arguments)],
            ]]]))
            return outputs
        }

        func toolIndex(item: String?, outputIndex: Int?) -> Int? {
            if let item, let index = toolIndexByItem[item] { return index }
            if let outputIndex, let index = toolIndexByOutput[outputIndex] { return index }
            return nil
        }

        mutating func argumentsDelta(_ delta: JSONValue?, item: String?, outputIndex: Int?) -> [StreamOutput] {
            guard let index = toolIndex(item: item, outputIndex: outputIndex),
                  let piece = delta?.stringValue, !piece.isEmpty else { return [] }
            argumentsSent.insert(index)
            return [argumentsChunk(index, piece)]
        }

        /// Servers that send the arguments only whole (no deltas) still get them through.
        mutating func argumentsDone(_ arguments: JSONValue?, item: String?, outputIndex: Int?) -> [StreamOutput] {
            guard let index = toolIndex(item: item, outputIndex: outputIndex), !argumentsSent.contains(index),
                  let whole = arguments?.stringValue, !whole.isEmpty else { return [] }
            argumentsSent.insert(index)
            return [argumentsChunk(index, whole)]
        }

        /// A finished `function_call` item that was never announced opens its call now; one whose arguments
        /// never arrived sends them whole.
        mutating func itemDone(_ item: JSONValue?, outputIndex: Int?) -> [StreamOutput] {
            guard item?["type"]?.stringValue == "function_call" else { return [] }
            guard toolIndex(item: item?["id"]?.stringValue, outputIndex: outputIndex) != nil else {
                return openToolCall(item, outputIndex: outputIndex)
            }
            return argumentsDone(item?["arguments"], item: item?["id"]?.stringValue, outputIndex: outputIndex)
        }

        mutating func responseEnded(_ response: JSONValue?) -> [StreamOutput] {
            var outputs = start()
            let reason = OpenAIResponses.finishReason(response, sawFunctionCall: toolCallCount > 0)
            outputs.append(chunk([:], finishReason: .string(reason)))
            if let usage = OpenAIResponses.usage(response?["usage"]) {
                outputs.append(.usage(usage))
                if context.clientWantsUsage {
                    let usageChunk: JSONValue = [
                        "id": .string(id), "object": "chat.completion.chunk", "created": .int(created),
                        "model": .string(model), "choices": [], "usage": usage.openAIJSON,
                    ]
                    outputs.append(.chunk(usageChunk.serializedString()))
                }
            }
            outputs.append(.done)
            ended = true
            return outputs
        }

        /// `response.failed`: the usage so far (for the ledger), then the response's `error`.
        mutating func responseFailed(_ response: JSONValue?) -> [StreamOutput] {
            ended = true
            var outputs: [StreamOutput] = []
            if let usage = OpenAIResponses.usage(response?["usage"]) { outputs.append(.usage(usage)) }
            outputs.append(.error(OpenAIResponses.error(response?["error"])))
            return outputs
        }

        // MARK: chunks

        /// The first chunk (`role` and empty content), once, before anything else.
        mutating func start() -> [StreamOutput] {
            guard !started else { return [] }
            started = true
            return [chunk(["role": "assistant", "content": ""])]
        }

        func argumentsChunk(_ index: Int, _ arguments: String) -> StreamOutput {
            chunk(["tool_calls": [["index": .int(index), "function": ["arguments": .string(arguments)]]]])
        }

        func chunk(_ delta: JSONValue, finishReason: JSONValue = .null) -> StreamOutput {
            let chunk: JSONValue = [
                "id": .string(id), "object": "chat.completion.chunk", "created": .int(created),
                "model": .string(model),
                "choices": [["index": 0, "delta": delta, "finish_reason": finishReason]],
            ]
            return .chunk(chunk.serializedString())
        }
    }
}
