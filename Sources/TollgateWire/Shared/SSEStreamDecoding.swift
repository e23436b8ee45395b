import TollgateCore

/// The SSE plumbing every stream decoder whose provider speaks `text/event-stream` adopts (OpenAI
/// Chat, Responses, Anthropic, Gemini): bytes in any split become events, each decoded until the
/// decoder marks the stream `ended`; an over-long line ends it with an error.
protocol SSEStreamDecoding: ChatStreamDecoder {
    var parser: SSEParser { get set }
    var ended: Bool { get set }
    mutating func decode(_ event: SSEEvent) -> [StreamOutput]
    /// Sees each piece of the body before it is parsed (by default, nothing is done with it).
    mutating func willParse(_ bytes: UnsafeRawBufferPointer)
    /// What the end of the body adds after its last event, unless the stream ended (by default, nothing).
    mutating func bodyEnded() -> [StreamOutput]
}

extension SSEStreamDecoding {
    mutating func willParse(_ bytes: UnsafeRawBufferPointer) {}

    mutating func bodyEnded() -> [StreamOutput] { [] }

    mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [StreamOutput] {
        guard !ended else { return [] }
        willParse(bytes)
        do {
            return decode(try parser.feed(bytes))
        } catch {
            ended = true
            return [.error(.badGateway("The upstream sent an event line longer than allowed."))]
        }
    }

    mutating func finish() -> [StreamOutput] {
        guard !ended else { return [] }
        // A final event without its blank line still counts.
        var outputs = decode((try? parser.feed([0x0A, 0x0A])) ?? [])
        if !ended { outputs += bodyEnded() }
        return outputs
    }

    mutating func decode(_ events: [SSEEvent]) -> [StreamOutput] {
        var outputs: [StreamOutput] = []
        for event in events where !ended { outputs += decode(event) }
        return outputs
    }
}
