import TollgateCore

/// The SSE plumbing shared by stream decoders whose provider speaks `text/event-stream` and
/// ends with an event of its own: bytes in any split become events, each decoded until the
/// decoder marks the stream `ended`.
protocol SSEStreamDecoding: ChatStreamDecoder {
    var parser: SSEParser { get set }
    var ended: Bool { get set }
    mutating func decode(_ event: SSEEvent) -> [StreamOutput]
}

extension SSEStreamDecoding {
    mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [StreamOutput] {
        guard !ended else { return [] }
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
        return decode((try? parser.feed([0x0A, 0x0A])) ?? [])
    }

    mutating func decode(_ events: [SSEEvent]) -> [StreamOutput] {
        var outputs: [StreamOutput] = []
        for event in events where !ended { outputs += decode(event) }
        return outputs
    }
}
