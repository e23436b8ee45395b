import TollgateCore

/// Relays an upstream's SSE stream to a client of the same API byte for byte, one whole event at
/// a time, while a `Reader` looks at each event for the usage, the end and errors. An event the
/// reader marks as an error is not relayed: the client gets the gateway's own error event instead
/// (the exchange renders it in the client's API), so a failure always reads the same way.
public struct SSEEventRelay<Reader: SSEEventReader>: ChatStreamDecoder {
    var reader: Reader
    private var pending: [UInt8] = []
    private var ended = false
    /// Bytes of one unfinished event held at most; a longer one ends the stream as an error.
    static var maxEventBytes: Int { 16 << 20 }

    public init(reader: Reader) { self.reader = reader }

    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [StreamOutput] {
        guard !ended else { return [] }
        pending.append(contentsOf: bytes)
        var outputs: [StreamOutput] = []
        var start = 0      // where the current event began
        var lineStart = 0  // where the current line began
        var i = 0
        let n = pending.count
        // Lines end at "\n", "\r\n" or "\r"; an empty line ends the event.
        while i < n {
            let b = pending[i]
            guard b == 0x0A || b == 0x0D else { i += 1; continue }
            if b == 0x0D && i + 1 == n { break }  // "\r" last: it may yet become "\r\n"
            let next = b == 0x0D && pending[i + 1] == 0x0A ? i + 2 : i + 1
            if i == lineStart {
                outputs += relay(Array(pending[start..<next]))
                if ended { pending.removeAll(); return outputs }
                start = next
            }
            lineStart = next
            i = next
        }
        if start > 0 { pending.removeFirst(start) }
        if pending.count > Self.maxEventBytes {
            ended = true
            pending.removeAll()
            outputs.append(.error(.badGateway("The upstream sent an event longer than allowed.")))
        }
        return outputs
    }

    public mutating func finish() -> [StreamOutput] {
        guard !ended else { return [] }
        var outputs: [StreamOutput] = []
        if pending.contains(where: { $0 != 0x0A && $0 != 0x0D && $0 != 0x20 }) {
            // A last event without its blank line still counts (and is relayed as it came).
            outputs += relay(pending, parsing: pending + [0x0A, 0x0A])
        }
        pending.removeAll()
        return outputs
    }

    private mutating func relay(_ event: [UInt8], parsing: [UInt8]? = nil) -> [StreamOutput] {
        let parsed: SSEEvent
        if parsing == nil, let single = SSEParser.singleDataLineEvent(event) {
            parsed = single
        } else {
            var parser = SSEParser()
            var events = (try? parser.feed(parsing ?? event)) ?? []
            if events.isEmpty, parsing == nil { events = (try? parser.feed([0x0A])) ?? [] }  // "\r\r" ends an event too
            guard let first = events.first else { return [.raw(event, textBytes: 0)] }  // comments, blank lines
            parsed = first
        }
        let seen = reader.read(parsed)
        switch seen.verdict {
        case .relay:
            return [.raw(event, textBytes: seen.textBytes)] + seen.outputs
        case .end:
            ended = true
            return [.raw(event, textBytes: seen.textBytes)] + seen.outputs + [.done]
        case .endUnsent:
            ended = true
            return seen.outputs + [.done]
        case .skip:
            return seen.outputs
        case .fail(let error):
            ended = true
            return seen.outputs + [.error(error)]
        }
    }
}

/// What a relay learns from one event of a same-family stream.
public protocol SSEEventReader {
    mutating func read(_ event: SSEEvent) -> SSEEventReading
}

public struct SSEEventReading {
    /// `relay` the event; `end` the stream after relaying it, or `endUnsent` without (the client's
    /// adapter writes its own end); `skip` it (not for this client); `fail` with the gateway's error.
    public enum Verdict { case relay, end, endUnsent, skip, fail(GatewayError) }
    public var verdict: Verdict
    /// Usage reports (and anything else the exchange should see besides the bytes).
    public var outputs: [StreamOutput]
    /// Answer text in the event, in bytes.
    public var textBytes: Int

    public init(_ verdict: Verdict = .relay, outputs: [StreamOutput] = [], textBytes: Int = 0) {
        self.verdict = verdict
        self.outputs = outputs
        self.textBytes = textBytes
    }
}
