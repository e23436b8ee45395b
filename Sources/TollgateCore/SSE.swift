/// One server-sent event.
public struct SSEEvent: Sendable, Equatable {
    public var event: String?
    public var data: String
    public var id: String?

    public init(event: String? = nil, data: String, id: String? = nil) {
        self.event = event
        self.data = data
        self.id = id
    }
}

/// Incremental parser for `text/event-stream` (the WHATWG rules): fed bytes in any split,
/// it returns each event once its blank line has arrived.
public struct SSEParser: Sendable {
    private var line: [UInt8] = []
    private var lastWasCR = false
    private var dataLines: [String] = []
    private var hasData = false
    private var eventName: String?
    private var lastID: String?
    /// Longest line accepted; a longer one is an error (a broken or hostile upstream).
    public var maxLineBytes: Int

    public init(maxLineBytes: Int = 16 << 20) { self.maxLineBytes = maxLineBytes }

    public enum ParseError: Error, Sendable { case lineTooLong }

    /// Bytes received but not yet part of a complete event.
    public var hasPartialEvent: Bool { !line.isEmpty || hasData || eventName != nil }

    public mutating func feed<Bytes: Sequence>(_ bytes: Bytes) throws(ParseError) -> [SSEEvent] where Bytes.Element == UInt8 {
        let contiguous = Array(bytes)
        let result: Result<[SSEEvent], ParseError> = contiguous.withUnsafeBytes { raw in
            do throws(ParseError) { return .success(try feed(raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// The fast path: whole runs between line ends are appended at once.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) throws(ParseError) -> [SSEEvent] {
        var events: [SSEEvent] = []
        var i = 0
        let n = bytes.count
        while i < n {
            if lastWasCR {
                lastWasCR = false
                if bytes[i] == 0x0A {
                    i += 1
                    continue
                }
            }
            var j = i
            while j < n, bytes[j] != 0x0A, bytes[j] != 0x0D { j += 1 }
            if j > i {
                line.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[i..<j]))
                if line.count > maxLineBytes { throw .lineTooLong }
            }
            guard j < n else { break }
            lastWasCR = bytes[j] == 0x0D
            if let e = endLine() { events.append(e) }
            i = j + 1
        }
        return events
    }

    private mutating func endLine() -> SSEEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            guard hasData else {
                eventName = nil
                return nil
            }
            let event = SSEEvent(event: eventName, data: dataLines.count == 1 ? dataLines[0] : dataLines.joined(separator: "\n"),
                                 id: lastID)
            dataLines.removeAll(keepingCapacity: true)
            hasData = false
            eventName = nil
            return event
        }
        if line[0] == UInt8(ascii: ":") { return nil }
        // Field and value as bytes: "field: value", one optional space after the colon.
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.count
        var valueStart = min(colon + 1, line.count)
        if valueStart < line.count, line[valueStart] == 0x20 { valueStart += 1 }
        func value() -> String { String(decoding: line[valueStart...], as: UTF8.self) }
        func fieldIs(_ name: StaticString) -> Bool {
            guard colon == name.utf8CodeUnitCount else { return false }
            let base = name.utf8Start
            for k in 0..<colon where line[k] != base[k] { return false }
            return true
        }
        if fieldIs("data") {
            dataLines.append(value())
            hasData = true
        } else if fieldIs("event") {
            eventName = value()
        } else if fieldIs("id") {
            if !line[valueStart...].contains(0) { lastID = value() }
        }
        return nil
    }
}

/// Encodes events for a `text/event-stream` response.
public enum SSEWriter {
    /// `data: ...\n\n`, splitting multi-line data into several `data:` lines.
    public static func encode(data: String, event: String? = nil) -> [UInt8] {
        var out: [UInt8] = []
        var data = data
        // One pass over the contiguous bytes (a chunk is relayed per event: this is on the hot path).
        let (count, multiline) = data.withUTF8 { bytes -> (Int, Bool) in
            for b in bytes where b == 0x0A || b == 0x0D { return (bytes.count, true) }
            return (bytes.count, false)
        }
        out.reserveCapacity(count + 16 + (event?.utf8.count ?? 0))
        if let event {
            out.append(contentsOf: "event: ".utf8)
            out.append(contentsOf: event.utf8)
            out.append(0x0A)
        }
        if multiline {
            // "\r\n" is one Character in Swift, equal to neither "\n" nor "\r".
            for line in data.split(omittingEmptySubsequences: false,
                                   whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
                out.append(contentsOf: "data: ".utf8)
                out.append(contentsOf: line.utf8)
                out.append(0x0A)
            }
        } else {
            out.append(contentsOf: "data: ".utf8)
            data.withUTF8 { out.append(contentsOf: $0) }
            out.append(0x0A)
        }
        out.append(0x0A)
        return out
    }

    public static func encode(json: JSONValue) -> [UInt8] {
        var out: [UInt8] = Array("data: ".utf8)
        json.write(to: &out)
        out.append(contentsOf: [0x0A, 0x0A])
        return out
    }

    public static let done: [UInt8] = Array("data: [DONE]\n\n".utf8)
}

extension SSEParser {
    /// The event of the common one-line shape, `data: PAYLOAD` and its blank line, read
    /// without the general parser (the same event it would give); nil for any other shape.
    public static func singleDataLineEvent(_ event: [UInt8]) -> SSEEvent? {
        let n = event.count
        guard n > 7, event[0] == 0x64, event[1] == 0x61, event[2] == 0x74, event[3] == 0x61, event[4] == 0x3A else {
            return nil
        }
        var end = 5
        while end < n, event[end] != 0x0A, event[end] != 0x0D { end += 1 }
        // What follows the line must be its line end and the blank line, nothing else.
        func lineEnd(at i: Int) -> Int? {  // where the line end at `i` stops ("\r\n", "\n" or "\r")
            guard i < n else { return nil }
            if event[i] == 0x0D { return i + 1 < n && event[i + 1] == 0x0A ? i + 2 : i + 1 }
            return event[i] == 0x0A ? i + 1 : nil
        }
        guard let blank = lineEnd(at: end), lineEnd(at: blank) == n else { return nil }
        let start = end > 5 && event[5] == 0x20 ? 6 : 5
        guard start < end else { return nil }  // empty data: no event, as the parser says
        return event.withUnsafeBytes { SSEEvent(data: String(decoding: UnsafeRawBufferPointer(rebasing: $0[start..<end]), as: UTF8.self)) }
    }
}
