import TollgateCore

/// OpenAI `chat.completion.chunk`s → the Responses API's stream events, for a `/v1/responses`
/// client whose answer comes from another family: `response.created` and `response.in_progress`
/// first; the text as a `message` item (`output_item.added`, `content_part.added`,
/// `output_text.delta`…, then the `done` events when the item closes); each tool call as a
/// `function_call` item with `function_call_arguments.delta`s; at the end `response.completed`
/// (or `response.incomplete` after a length stop) with the whole response and its usage, or
/// `error` and `response.failed` when the answer fails. Every event carries its `type` and a
/// rising `sequence_number`.
public struct ResponsesEventWriter {
    enum Item: Equatable { case message, call(Int) }

    let echo: ResponsesInbound.Echo
    private var sequence = 0
    private var started = false
    private var open: Item?
    /// Finished items, in output order, for the final response.
    private var output: [JSONValue] = []
    private var text = ""
    private var calls: [Int: (id: String, callID: String, name: String, arguments: String)] = [:]
    private var finishReason: String?

    public init(echo: ResponsesInbound.Echo) { self.echo = echo }

    public mutating func events(forChunk chunkText: String) -> [UInt8] {
        var out = start()
        guard let chunk = try? JSONValue.parse(Array(chunkText.utf8)), let choice = chunk["choices"]?[0] else { return out }
        let delta = choice["delta"]
        if let content = delta?["content"]?.stringValue, !content.isEmpty {
            out += enter(.message)
            text += content
            out += event("response.output_text.delta", [
                "item_id": .string(messageID), "output_index": .int(output.count), "content_index": 0,
                "delta": .string(content), "logprobs": [],
            ])
        }
        for call in delta?["tool_calls"]?.arrayValue ?? [] {
            let index = call["index"]?.intValue ?? 0
            if calls[index] == nil {
                let callID = ThoughtSignatureID.id(call["id"]?.stringValue ?? "call_\(echo.id)_\(index)",
                                                   signature: ThoughtSignatureID.signature(ofCall: call))
                calls[index] = ("fc_\(echo.id)_\(index)", callID, call["function"]?["name"]?.stringValue ?? "", "")
                out += enter(.call(index))
            }
            // Arguments for a call whose item already closed cannot be placed: items are sequential.
            if let arguments = call["function"]?["arguments"]?.stringValue, !arguments.isEmpty, open == .call(index) {
                calls[index]?.arguments += arguments
                out += event("response.function_call_arguments.delta", [
                    "item_id": .string(calls[index]!.id), "output_index": .int(output.count), "delta": .string(arguments),
                ])
            }
        }
        if let reason = choice["finish_reason"]?.stringValue { finishReason = reason }
        return out
    }

    /// A complete answer: the open item closed, then `response.completed` (or `.incomplete`).
    public mutating func end(usage: Usage?) -> [UInt8] {
        var out = start()
        out += close()
        let reason = ResponsesInbound.incompleteReason(finishReason)
        let response = ResponsesInbound.response(echo, status: reason == nil ? "completed" : "incomplete", output: output,
                                                 usage: usage, incompleteReason: reason)
        out += event(reason == nil ? "response.completed" : "response.incomplete", ["response": response])
        return out
    }

    /// A failed answer: an `error` event, then `response.failed` with what was produced so far.
    public mutating func fail(_ error: GatewayError) -> [UInt8] {
        var out = start()
        out += close(status: "incomplete")
        out += event("error", ["code": .string(ResponsesInbound.errorCode(error)), "message": .string(error.message),
                               "param": error.param.map { .string($0) } ?? .null])
        let response = ResponsesInbound.response(echo, status: "failed", output: output, usage: nil, error: error)
        out += event("response.failed", ["response": response])
        return out
    }

    public mutating func markStarted() { started = true }

    private var messageID: String { "msg_\(echo.id)" }

    mutating func start() -> [UInt8] {
        guard !started else { return [] }
        started = true
        let response = ResponsesInbound.response(echo, status: "in_progress", output: [], usage: nil)
        return event("response.created", ["response": response]) + event("response.in_progress", ["response": response])
    }

    mutating func enter(_ item: Item) -> [UInt8] {
        guard open != item else { return [] }
        var out = close()
        open = item
        let index = JSONValue.int(output.count)
        switch item {
        case .message:
            text = ""
            out += event("response.output_item.added", [
                "output_index": index, "item": ResponsesInbound.messageItem(id: messageID, text: nil, status: "in_progress"),
            ])
            out += event("response.content_part.added", [
                "item_id": .string(messageID), "output_index": index, "content_index": 0,
                "part": ResponsesInbound.outputText(""),
            ])
        case .call(let i):
            let c = calls[i]!
            out += event("response.output_item.added", [
                "output_index": index,
                "item": ResponsesInbound.functionCallItem(id: c.id, callID: c.callID, name: c.name, arguments: "",
                                                          status: "in_progress"),
            ])
        }
        return out
    }

    mutating func close(status: String = "completed") -> [UInt8] {
        guard let item = open else { return [] }
        open = nil
        var out: [UInt8] = []
        let index = JSONValue.int(output.count)
        switch item {
        case .message:
            out += event("response.output_text.done", [
                "item_id": .string(messageID), "output_index": index, "content_index": 0, "text": .string(text),
                "logprobs": [],
            ])
            out += event("response.content_part.done", [
                "item_id": .string(messageID), "output_index": index, "content_index": 0,
                "part": ResponsesInbound.outputText(text),
            ])
            let done = ResponsesInbound.messageItem(id: messageID, text: text, status: status)
            out += event("response.output_item.done", ["output_index": index, "item": done])
            output.append(done)
        case .call(let i):
            let c = calls[i]!
            out += event("response.function_call_arguments.done", [
                "item_id": .string(c.id), "output_index": index, "name": .string(c.name), "arguments": .string(c.arguments),
            ])
            let done = ResponsesInbound.functionCallItem(id: c.id, callID: c.callID, name: c.name, arguments: c.arguments,
                                                         status: status)
            out += event("response.output_item.done", ["output_index": index, "item": done])
            output.append(done)
        }
        return out
    }

    /// `event: TYPE` and its data with `type` and the next `sequence_number` first.
    mutating func event(_ type: String, _ fields: JSONValue) -> [UInt8] {
        var data = JSONObject([("type", .string(type)), ("sequence_number", .int(sequence))])
        for (key, value) in fields.objectValue?.entries ?? [] { data[key] = value }
        sequence += 1
        return AnthropicInbound.event(type, .object(data))
    }
}
