import TollgateCore

/// Anthropic's SSE stream → OpenAI `chat.completion.chunk`s (wire-formats.md §3.3).
extension AnthropicMessages {
    public func makeStreamDecoder(context: ChatContext) -> any ChatStreamDecoder {
        StreamDecoder(context: context)
    }

    /// Decodes `message_start`, `content_block_start/delta/stop`, `message_delta`, `message_stop`,
    /// `ping` and `error` events fed in any split. Text deltas become content deltas; each `tool_use`
    /// block becomes one OpenAI tool call under a running index (Anthropic's block index also counts
    /// text and thinking blocks); thinking is dropped. `message_stop` ends the answer: the usage chunk
    /// (when the client asked for it) and `.done`. Unknown events are ignored; nothing after the end
    /// or an error is decoded.
    struct StreamDecoder: SSEStreamDecoding {
        let context: ChatContext
        var parser = SSEParser()
        /// The message id and model from `message_start`, repeated on every chunk.
        var id: String
        var model: String
        var started = false
        var finishSent = false
        var ended = false
        var counts = UsageCounts()
        var sawUsage = false
        /// Anthropic content block index → our OpenAI tool call index, for `tool_use` blocks.
        var toolIndexByBlock: [Int: Int] = [:]

        /// Events whose data must be JSON; a corrupt one is an error, while unknown events are skipped.
        static let knownEvents: Set<String> = [
            "message_start", "content_block_start", "content_block_delta", "content_block_stop", "message_delta",
            "message_stop", "error",
        ]

        init(context: ChatContext) {
            self.context = context
            id = "chatcmpl-\(context.requestID)"
            model = context.upstreamModel
        }

        mutating func decode(_ event: SSEEvent) -> [StreamOutput] {
            if event.event == "ping" { return [] }
            guard let json = try? JSONValue.parse(event.data), case .object = json else {
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
            case "message_start": return messageStart(json["message"])
            case "content_block_start": return blockStart(index: json["index"]?.intValue, block: json["content_block"])
            case "content_block_delta": return blockDelta(index: json["index"]?.intValue, delta: json["delta"])
            case "message_delta": return messageDelta(json)
            case "message_stop": return messageStop()
            case "error": return streamError(json)
            default: return []  // content_block_stop, ping, and event types added later
            }
        }

        // MARK: events

        mutating func messageStart(_ message: JSONValue?) -> [StreamOutput] {
            if let value = message?["id"]?.stringValue, !value.isEmpty { id = value }
            if let value = message?["model"]?.stringValue, !value.isEmpty { model = value }
            var outputs = start()
            if let usage = message?["usage"], case .object = usage {
                counts.merge(usage)
                sawUsage = true
                outputs.append(.usage(counts.usage))
            }
            return outputs
        }

        mutating func blockStart(index: Int?, block: JSONValue?) -> [StreamOutput] {
            var outputs = start()
            switch block?["type"]?.stringValue {
            case "text":
                if let text = block?["text"]?.stringValue, !text.isEmpty { outputs.append(chunk(["content": .string(text)])) }
            case "tool_use":
                guard let index else { break }
                let toolIndex = toolIndexByBlock.count
                toolIndexByBlock[index] = toolIndex
                // The block's `input` is an empty placeholder; the arguments arrive as input_json_delta.
                outputs.append(chunk(["tool_calls": [[
                    "index": .int(toolIndex),
                    "id": block?["id"] ?? "",
                    "type": "function",
                    "function": ["name": block?["name"] ?? "", "arguments": ""],
                ]]]))
            default:
                break  // thinking, redacted_thinking and server-tool blocks have no OpenAI form
            }
            return outputs
        }

        mutating func blockDelta(index: Int?, delta: JSONValue?) -> [StreamOutput] {
            var outputs = start()
            switch delta?["type"]?.stringValue {
            case "text_delta":
                if let text = delta?["text"]?.stringValue, !text.isEmpty { outputs.append(chunk(["content": .string(text)])) }
            case "input_json_delta":
                if let index, let toolIndex = toolIndexByBlock[index],
                   let json = delta?["partial_json"]?.stringValue, !json.isEmpty {
                    outputs.append(chunk(["tool_calls": [["index": .int(toolIndex), "function": ["arguments": .string(json)]]]]))
                }
            default:
                break  // thinking_delta, signature_delta, citations_delta
            }
            return outputs
        }

        mutating func messageDelta(_ json: JSONValue) -> [StreamOutput] {
            var outputs: [StreamOutput] = []
            if let reason = json["delta"]?["stop_reason"]?.stringValue, !finishSent {
                outputs += start()
                outputs.append(finishChunk(AnthropicMessages.finishReason(reason)))
            }
            if let usage = json["usage"], case .object = usage {
                counts.merge(usage)
                sawUsage = true
                outputs.append(.usage(counts.usage))
            }
            return outputs
        }

        mutating func messageStop() -> [StreamOutput] {
            var outputs = start()
            if !finishSent { outputs.append(finishChunk(toolIndexByBlock.isEmpty ? "stop" : "tool_calls")) }
            if context.clientWantsUsage, sawUsage {
                let usageChunk: JSONValue = [
                    "id": .string(id), "object": "chat.completion.chunk", "created": .int(context.created),
                    "model": .string(model), "choices": [], "usage": counts.usage.openAIJSON,
                ]
                outputs.append(.chunk(usageChunk.serializedString()))
            }
            outputs.append(.done)
            ended = true
            return outputs
        }

        /// `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}` mid-stream.
        mutating func streamError(_ json: JSONValue) -> [StreamOutput] {
            ended = true
            guard let error = json["error"], case .object = error else {
                return [.error(.badGateway("The upstream reported an error mid-stream: \(json.serializedString())"))]
            }
            let type = error["type"]?.stringValue
            return [.error(AnthropicMessages.error(error, status: AnthropicMessages.status(forStreamError: type)))]
        }

        // MARK: chunks

        /// The first chunk (`role` and empty content), once, before anything else.
        mutating func start() -> [StreamOutput] {
            guard !started else { return [] }
            started = true
            return [chunk(["role": "assistant", "content": ""])]
        }

        mutating func finishChunk(_ reason: String) -> StreamOutput {
            finishSent = true
            return chunk([:], finishReason: .string(reason))
        }

        func chunk(_ delta: JSONValue, finishReason: JSONValue = .null) -> StreamOutput {
            let chunk: JSONValue = [
                "id": .string(id), "object": "chat.completion.chunk", "created": .int(context.created),
                "model": .string(model),
                "choices": [["index": 0, "delta": delta, "finish_reason": finishReason]],
            ]
            return .chunk(chunk.serializedString())
        }
    }
}
