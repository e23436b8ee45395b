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
        var events: [SSEEvent] = []
        for b in bytes {
            if b == 0x0A {
                if lastWasCR { lastWasCR = false; continue }
                if let e = endLine() { events.append(e) }
            } else if b == 0x0D {
                lastWasCR = true
                if let e = endLine() { events.append(e) }
            } else {
                lastWasCR = false
                line.append(b)
                if line.count > maxLineBytes { throw .lineTooLong }
            }
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
            let event = SSEEvent(event: eventName, data: dataLines.joined(separator: "\n"), id: lastID)
            dataLines.removeAll(keepingCapacity: true)
            hasData = false
            eventName = nil
            return event
        }
        if line.first == UInt8(ascii: ":") { return nil }
        var field: Substring
        var value: Substring
        let text = String(decoding: line, as: UTF8.self)
        if let colon = text.firstIndex(of: ":") {
            field = text[..<colon]
            value = text[text.index(after: colon)...]
            if value.first == " " { value = value.dropFirst() }
        } else {
            field = Substring(text)
            value = ""
        }
        switch field {
        case "data":
            dataLines.append(String(value))
            hasData = true
        case "event": eventName = String(value)
        case "id": if !value.contains("\0") { lastID = String(value) }
        default: break
        }
        return nil
    }
}

/// Encodes events for a `text/event-stream` response.
public enum SSEWriter {
    /// `data: ...\n\n`, splitting multi-line data into several `data:` lines.
    public static func encode(data: String, event: String? = nil) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(data.utf8.count + 16)
        if let event {
            out.append(contentsOf: "event: ".utf8)
            out.append(contentsOf: event.utf8)
            out.append(0x0A)
        }
        if data.utf8.contains(0x0A) || data.utf8.contains(0x0D) {
            // "\r\n" is one Character in Swift, equal to neither "\n" nor "\r".
            for line in data.split(omittingEmptySubsequences: false,
                                   whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) {
                out.append(contentsOf: "data: ".utf8)
                out.append(contentsOf: line.utf8)
                out.append(0x0A)
            }
        } else {
            out.append(contentsOf: "data: ".utf8)
            out.append(contentsOf: data.utf8)
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
