import TollgateCore

/// `streamGenerateContent?alt=sse` → OpenAI `chat.completion.chunk`s (wire-formats.md §4.4).
extension GeminiChat {
    public func makeStreamDecoder(context: ChatContext) -> any ChatStreamDecoder {
        StreamDecoder(context: context)
    }

    /// Decodes `streamGenerateContent?alt=sse`: every `data:` event is a whole
    /// `GenerateContentResponse` carrying the next piece of each candidate, function calls
    /// arrive whole, `finishReason` comes on a candidate's last piece and usage on any event
    /// (the last one counts). There is no terminal event: the answer is complete once every
    /// candidate has finished and the body has ended.
    struct StreamDecoder: SSEStreamDecoding {
        /// What has been sent for one choice.
        struct Choice {
            var started = false
            var toolCalls = 0
            var finished = false
        }

        var parser = SSEParser()
        var translator: ResponseTranslator
        let forwardUsageChunk: Bool
        var choices: [Int: Choice] = [:]
        var usage: Usage?
        var ended = false
        var sawEvent = false
        /// The body's first bytes, kept until an event arrives: an error body is plain JSON, not SSE.
        var head: [UInt8] = []
        static let headLimit = 64 << 10

        init(context: ChatContext) {
            translator = ResponseTranslator(context: context)
            forwardUsageChunk = context.clientWantsUsage
        }

        /// Keeps the body's head until an event arrives: an error body is plain JSON, not SSE.
        mutating func willParse(_ bytes: UnsafeRawBufferPointer) {
            if !sawEvent, head.count < Self.headLimit { head += bytes.prefix(Self.headLimit - head.count) }
        }

        /// The answer is complete once every choice finished; a body without events may be an error.
        mutating func bodyEnded() -> [StreamOutput] {
            if !choices.isEmpty, choices.values.allSatisfy(\.finished) {
                var outputs: [StreamOutput] = []
                if forwardUsageChunk, let usage { outputs.append(.chunk(translator.usageChunk(usage))) }
                outputs.append(.done)
                return outputs
            }
            if !sawEvent, let error = bodyError() { return [.error(error)] }
            return []
        }

        // MARK: events

        mutating func decode(_ event: SSEEvent) -> [StreamOutput] {
            sawEvent = true
            head = []
            guard let json = try? JSONValue.parse(event.data) else {
                ended = true
                return [.error(.badGateway("The upstream sent a stream event that is not JSON.",
                                           code: "invalid_upstream_response"))]
            }
            return decode(json)
        }

        mutating func decode(_ json: JSONValue) -> [StreamOutput] {
            if let error = Gemini.errorObject(json) {
                ended = true
                return [.error(Gemini.streamError(error))]
            }
            var outputs: [StreamOutput] = []
            let candidates = json["candidates"]?.arrayValue ?? []
            for (position, candidate) in candidates.enumerated() {
                outputs += decode(candidate, index: candidate["index"]?.intValue ?? position)
            }
            if candidates.isEmpty, json["promptFeedback"]?["blockReason"]?.stringValue != nil {
                outputs += start(0)
                outputs += end(0, reason: "content_filter")
            }
            if let latest = Gemini.usage(json["usageMetadata"]), latest != usage {
                usage = latest
                outputs.append(.usage(latest))
            }
            return outputs
        }

        mutating func decode(_ candidate: JSONValue, index: Int) -> [StreamOutput] {
            guard choices[index]?.finished != true else { return [] }
            var outputs = start(index)
            let (text, calls) = translator.translate(candidate["content"]?["parts"]?.arrayValue ?? [])
            if let text, !text.isEmpty {
                outputs.append(.chunk(translator.chunk(index: index, delta: JSONObject([("content", .string(text))]))))
            }
            for call in calls {
                // OpenAI streams a call as a header (id, name, empty arguments) and argument pieces;
                // Gemini's call is already whole, so its arguments follow in one piece.
                let position = JSONValue.int(choices[index, default: Choice()].toolCalls)
                choices[index, default: Choice()].toolCalls += 1
                var header = call
                header["function"] = ["name": call["function"]?["name"] ?? "", "arguments": ""]
                var first = JSONObject([("index", position)])
                for (key, value) in header.entries { first[key] = value }
                let arguments = JSONObject([("index", position),
                                            ("function", ["arguments": call["function"]?["arguments"] ?? "{}"])])
                outputs.append(toolCallChunk(index: index, first))
                outputs.append(toolCallChunk(index: index, arguments))
            }
            if let reason = candidate["finishReason"]?.stringValue, reason != "FINISH_REASON_UNSPECIFIED" {
                let hasToolCalls = choices[index, default: Choice()].toolCalls > 0
                outputs += end(index, reason: Gemini.finishReason(reason, hasToolCalls: hasToolCalls))
            }
            return outputs
        }

        /// The first chunk of a choice: the assistant role and empty content.
        mutating func start(_ index: Int) -> [StreamOutput] {
            guard choices[index]?.started != true else { return [] }
            choices[index, default: Choice()].started = true
            let delta = JSONObject([("role", "assistant"), ("content", "")])
            return [.chunk(translator.chunk(index: index, delta: delta))]
        }

        /// The last chunk of a choice: an empty delta and the finish reason.
        mutating func end(_ index: Int, reason: String) -> [StreamOutput] {
            guard choices[index]?.finished != true else { return [] }
            choices[index, default: Choice()].finished = true
            return [.chunk(translator.chunk(index: index, delta: JSONObject(), finishReason: reason))]
        }

        func toolCallChunk(index: Int, _ call: JSONObject) -> StreamOutput {
            .chunk(translator.chunk(index: index, delta: JSONObject([("tool_calls", [.object(call)])])))
        }

        /// A body that held no event: Gemini's JSON error (non-SSE), or something unreadable.
        func bodyError() -> GatewayError? {
            let text = String(decoding: head, as: UTF8.self).trimmingWhitespace()
            guard !text.isEmpty else { return nil }
            if let json = try? JSONValue.parse(text), let error = Gemini.errorObject(json) {
                return Gemini.streamError(error)
            }
            return .badGateway("The upstream stream held no events: \(text.prefix(500))", code: "invalid_upstream_response")
        }
    }
}
