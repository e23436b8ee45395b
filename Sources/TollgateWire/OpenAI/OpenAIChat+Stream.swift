import TollgateCore

/// Chat Completions chunks pass through; usage is read from them and `[DONE]` ends the answer.
extension OpenAIChat {
    public func makeStreamDecoder(context: ChatContext) -> any ChatStreamDecoder {
        StreamDecoder(forwardUsageChunk: context.clientWantsUsage)
    }

    /// Forwards every chunk, except a usage-only chunk the client did not ask for.
    struct StreamDecoder: SSEStreamDecoding {
        var parser = SSEParser()
        var ended = false
        let forwardUsageChunk: Bool

        init(forwardUsageChunk: Bool) { self.forwardUsageChunk = forwardUsageChunk }

        /// `[DONE]` and an error end the stream: later events are not decoded.
        mutating func decode(_ event: SSEEvent) -> [StreamOutput] {
            let data = event.data
            if data == "[DONE]" {
                ended = true
                return [.done]
            }
            guard let json = try? JSONValue.parse(data), case .object = json else { return [] }
            if let error = json["error"], !error.isNull {
                ended = true
                return [.error(OpenAIChat.error(from: json, status: 502, headers: HTTPHeaders()))]
            }
            var outputs: [StreamOutput] = []
            if let usage = Usage(openAI: json["usage"]) { outputs.append(.usage(usage)) }
            let isUsageOnly = (json["choices"]?.arrayValue?.isEmpty ?? true) && json["usage"] != nil
            if !isUsageOnly || forwardUsageChunk { outputs.append(.chunk(data)) }
            return outputs
        }
    }
}
