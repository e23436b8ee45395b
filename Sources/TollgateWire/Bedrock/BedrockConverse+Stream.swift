import TollgateCore

/// ConverseStream's AWS event stream → OpenAI `chat.completion.chunk`s (wire-formats.md §5.4).
extension BedrockConverse {
    public func makeStreamDecoder(context: ChatContext) -> any ChatStreamDecoder {
        StreamDecoder(context: context)
    }

    /// A whole ConverseStream body as one `chat.completion`, for when the stream was buffered
    /// instead of relayed.
    static func completion(fromStream body: [UInt8], context: ChatContext) throws(GatewayError) -> ChatResult {
        var decoder = StreamDecoder(context: context)
        let outputs = body.withUnsafeBytes { decoder.feed($0) } + decoder.finish()
        var text = ""
        var calls: [(id: JSONValue, name: JSONValue, arguments: String)] = []
        var finishReason = "stop"
        var usage: Usage?
        for output in outputs {
            switch output {
            case .error(let error): throw error
            case .usage(let reported): usage = reported
            case .done, .raw: break
            case .chunk(let data):
                guard let choice = (try? JSONValue.parse(data))?["choices"]?[0] else { continue }
                if let reason = choice["finish_reason"]?.stringValue { finishReason = reason }
                if let piece = choice["delta"]?["content"]?.stringValue { text += piece }
                for call in choice["delta"]?["tool_calls"]?.arrayValue ?? [] {
                    guard let index = call["index"]?.intValue, index <= calls.count else { continue }
                    if index == calls.count { calls.append((call["id"] ?? "", call["function"]?["name"] ?? "", "")) }
                    calls[index].arguments += call["function"]?["arguments"]?.stringValue ?? ""
                }
            }
        }
        guard outputs.last == .done else {
            throw GatewayError.badGateway("The upstream event stream ended before the answer was complete.",
                                          code: "upstream_stream_interrupted")
        }
        let toolCalls: [JSONValue] = calls.map { call in
            ["id": call.id, "type": "function",
             "function": ["name": call.name, "arguments": .string(call.arguments.isEmpty ? "{}" : call.arguments)]]
        }
        return ChatResult(body: completion(text: text, calls: toolCalls, finishReason: finishReason, usage: usage,
                                           context: context),
                          usage: usage)
    }

    /// ConverseStream's binary event stream → OpenAI `chat.completion.chunk`s.
    ///
    /// Events (`:event-type`): `messageStart`, `contentBlockStart` (tool calls), `contentBlockDelta`
    /// (text or tool-input pieces), `contentBlockStop`, `messageStop` (stop reason), then `metadata`
    /// (usage). The finish chunk goes out at `messageStop`; usage and the end at `metadata`, or when
    /// the bytes end if `metadata` never comes. Exceptions (`:message-type: exception`) and corrupt
    /// frames end the stream with an error.
    struct StreamDecoder: ChatStreamDecoder {
        var framing = AWSEventStream.Decoder()
        let id: String
        let created: Int
        let model: String
        let includeUsage: Bool

        var started = false
        /// OpenAI tool-call index by Converse `contentBlockIndex`.
        var toolIndexByBlock: [Int: Int] = [:]
        var finishReason: String?
        var usage: Usage?
        /// `.done` or `.error` went out; later bytes are ignored.
        var ended = false

        init(context: ChatContext) {
            id = BedrockConverse.completionID(context)
            created = context.created
            model = context.upstreamModel
            includeUsage = context.clientWantsUsage
        }

        mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [StreamOutput] {
            guard !ended else { return [] }
            framing.append(bytes)
            var outputs: [StreamOutput] = []
            while !ended {
                do {
                    guard let message = try framing.next() else { break }
                    outputs += handle(message)
                } catch {
                    ended = true
                    outputs.append(.error(.badGateway("The upstream sent a corrupt event stream: \(error.message).",
                                                      code: "invalid_upstream_stream")))
                }
            }
            return outputs
        }

        mutating func finish() -> [StreamOutput] {
            // Without messageStop or metadata the answer is incomplete; the gateway reports that.
            guard !ended, finishReason != nil || usage != nil else { return [] }
            return end()
        }

        // MARK: events

        mutating func handle(_ message: AWSEventStream.Message) -> [StreamOutput] {
            switch message.string(":message-type") {
            case "event":
                guard let type = message.string(":event-type") else { return [] }
                let payload: JSONValue? = message.payload.isEmpty ? [:] : try? JSONValue.parse(message.payload)
                guard let payload, case .object = payload else {
                    ended = true
                    return [.error(.badGateway("The upstream sent a \(type) event whose payload is not a JSON object.",
                                               code: "invalid_upstream_stream"))]
                }
                return event(type, payload)
            case "exception":
                ended = true
                let payload = try? JSONValue.parse(message.payload)
                let text = payload?["message"]?.stringValue ?? payload?["Message"]?.stringValue
                return [.error(Bedrock.streamError(type: message.string(":exception-type") ?? "", message: text))]
            case "error":
                ended = true
                let code = message.string(":error-code") ?? "error"
                let text = message.string(":error-message") ?? "The upstream stream failed with \(code)."
                return [.error(GatewayError(status: 502, type: code, message: text))]
            default:
                return []
            }
        }

        mutating func event(_ type: String, _ payload: JSONValue) -> [StreamOutput] {
            switch type {
            case "messageStart":
                return start()
            case "contentBlockStart":
                guard let use = payload["start"]?["toolUse"], let block = payload["contentBlockIndex"]?.intValue else { return [] }
                return start() + toolCallStart(block: block, id: use["toolUseId"]?.stringValue, name: use["name"]?.stringValue)
            case "contentBlockDelta":
                let delta = payload["delta"]
                if let text = delta?["text"]?.stringValue, !text.isEmpty {
                    return start() + [chunk(["content": .string(text)])]
                }
                if let piece = delta?["toolUse"]?["input"]?.stringValue, let block = payload["contentBlockIndex"]?.intValue {
                    var outputs = start()
                    if toolIndexByBlock[block] == nil { outputs += toolCallStart(block: block, id: nil, name: nil) }
                    guard !piece.isEmpty, let index = toolIndexByBlock[block] else { return outputs }
                    return outputs + [chunk(["tool_calls": [["index": .int(index), "function": ["arguments": .string(piece)]]]])]
                }
                return []
            case "messageStop":
                guard finishReason == nil else { return [] }
                let reason = Bedrock.finishReason(payload["stopReason"]?.stringValue, sawToolUse: !toolIndexByBlock.isEmpty)
                finishReason = reason
                var outputs = start() + [chunk([:], finishReason: reason)]
                if usage != nil { outputs += end() }
                return outputs
            case "metadata":
                usage = Bedrock.usage(payload["usage"]) ?? Usage()
                // metadata follows messageStop; should it come first, wait for the stop reason.
                return finishReason == nil ? [] : end()
            default:
                return []
            }
        }

        /// The opening chunk (`role: assistant`), once.
        mutating func start() -> [StreamOutput] {
            guard !started else { return [] }
            started = true
            return [chunk(["role": "assistant", "content": ""])]
        }

        /// The first delta of a tool call: index, id, type, name and empty arguments.
        mutating func toolCallStart(block: Int, id: String?, name: String?) -> [StreamOutput] {
            guard toolIndexByBlock[block] == nil else { return [] }
            let index = toolIndexByBlock.count
            toolIndexByBlock[block] = index
            let callID = id ?? "\(self.id)-tool-\(block)"
            return [chunk(["tool_calls": [["index": .int(index), "id": .string(callID), "type": "function",
                                           "function": ["name": .string(name ?? ""), "arguments": ""]]]])]
        }

        /// Usage, the include_usage chunk when asked, and `.done`.
        mutating func end() -> [StreamOutput] {
            ended = true
            var outputs: [StreamOutput] = []
            if finishReason == nil { outputs += start() + [chunk([:], finishReason: "stop")] }
            if let usage {
                outputs.append(.usage(usage))
                if includeUsage { outputs.append(.chunk(envelope(choices: [], usage: usage.openAIJSON))) }
            }
            outputs.append(.done)
            return outputs
        }

        func chunk(_ delta: JSONValue, finishReason: String? = nil) -> StreamOutput {
            let choice: JSONValue = ["index": 0, "delta": delta,
                                     "finish_reason": finishReason.map { .string($0) } ?? .null]
            return .chunk(envelope(choices: [choice]))
        }

        func envelope(choices: [JSONValue], usage: JSONValue? = nil) -> String {
            var object = JSONObject([("id", .string(id)), ("object", "chat.completion.chunk"), ("created", .int(created)),
                                     ("model", .string(model)), ("choices", .array(choices))])
            if let usage { object["usage"] = usage }
            return JSONValue.object(object).serializedString()
        }
    }
}
