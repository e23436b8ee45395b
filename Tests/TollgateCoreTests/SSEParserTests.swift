import Testing
import TollgateCore

/// Chunk sizes the wire tests replay recordings at; 0 means the whole stream at once.
let chunkSizes = [1, 7, 64, 0]

/// `SSEParser` fed the same stream at every chunk size gives the same events.
@Suite struct SSEParserTests {
    static func parse(_ text: String, chunkSize: Int, parser: inout SSEParser) throws -> [SSEEvent] {
        let bytes = Array(text.utf8)
        let size = chunkSize == 0 ? max(bytes.count, 1) : chunkSize
        var events: [SSEEvent] = []
        var start = 0
        while start < bytes.count {
            let end = min(start + size, bytes.count)
            events += try parser.feed(bytes[start..<end])
            start = end
        }
        return events
    }

    static func parse(_ text: String, chunkSize: Int) throws -> [SSEEvent] {
        var parser = SSEParser()
        return try parse(text, chunkSize: chunkSize, parser: &parser)
    }

    @Test(arguments: chunkSizes)
    func openAIStyleStream(chunkSize: Int) throws {
        let stream = #"data: {"choices":[{"delta":{"content":"Hel"}}]}"# + "\n\n"
            + #"data: {"choices":[{"delta":{"content":"lo"}}]}"# + "\n\n" + "data: [DONE]\n\n"
        let events = try Self.parse(stream, chunkSize: chunkSize)
        #expect(events.map(\.data) == [#"{"choices":[{"delta":{"content":"Hel"}}]}"#,
                                       #"{"choices":[{"delta":{"content":"lo"}}]}"#, "[DONE]"])
        #expect(events.allSatisfy { $0.event == nil && $0.id == nil })
    }

    @Test(arguments: chunkSizes)
    func namedEventsAsAnthropicSendsThem(chunkSize: Int) throws {
        let stream = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
            + "event: ping\ndata: {}\n\n"
            + "data: unnamed\n\n"
            + "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        let events = try Self.parse(stream, chunkSize: chunkSize)
        #expect(events == [
            SSEEvent(event: "message_start", data: #"{"type":"message_start"}"#),
            SSEEvent(event: "ping", data: "{}"),
            SSEEvent(event: nil, data: "unnamed"),  // a name lasts for one event only
            SSEEvent(event: "message_stop", data: #"{"type":"message_stop"}"#),
        ])
    }

    @Test(arguments: chunkSizes)
    func commentsAndUnknownFieldsAreIgnored(chunkSize: Int) throws {
        let stream = ": keep-alive\n\n: OPENROUTER PROCESSING\ndata: a\nretry: 1000\nfoo: bar\n: mid-event comment\n\n:\n\n"
        #expect(try Self.parse(stream, chunkSize: chunkSize) == [SSEEvent(data: "a")])
    }

    @Test(arguments: chunkSizes)
    func multiLineDataIsJoinedWithNewlines(chunkSize: Int) throws {
        let stream = "data: first\ndata:second\ndata:  third has a space\ndata\ndata: \n\n"
        #expect(try Self.parse(stream, chunkSize: chunkSize) == [SSEEvent(data: "first\nsecond\n third has a space\n\n")])
    }

    @Test(arguments: chunkSizes)
    func crlfAndLoneCRAreLineEnds(chunkSize: Int) throws {
        let crlf = "event: a\r\ndata: one\r\ndata: two\r\n\r\ndata: three\r\n\r\n"
        #expect(try Self.parse(crlf, chunkSize: chunkSize) == [SSEEvent(event: "a", data: "one\ntwo"), SSEEvent(data: "three")])
        let cr = "data: x\rdata: y\r\rdata: z\r\r"
        #expect(try Self.parse(cr, chunkSize: chunkSize) == [SSEEvent(data: "x\ny"), SSEEvent(data: "z")])
    }

    @Test(arguments: chunkSizes)
    func idsPersistUntilChanged(chunkSize: Int) throws {
        let stream = "id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\nid: bad\0id\ndata: d\n\n"
        let events = try Self.parse(stream, chunkSize: chunkSize)
        #expect(events.map(\.id) == ["1", "1", "2", "2"])
        #expect(events.map(\.data) == ["a", "b", "c", "d"])
    }

    @Test(arguments: chunkSizes)
    func anEventWithoutDataIsNotDispatched(chunkSize: Int) throws {
        let stream = "event: lonely\n\nid: 7\n\ndata: after\n\n"
        #expect(try Self.parse(stream, chunkSize: chunkSize) == [SSEEvent(data: "after", id: "7")])
    }

    @Test func anEventIsOnlyDeliveredOnceItsBlankLineArrives() throws {
        var parser = SSEParser()
        #expect(try parser.feed(Array("data: par".utf8)).isEmpty)
        #expect(parser.hasPartialEvent)
        #expect(try parser.feed(Array("tial\n".utf8)).isEmpty)
        #expect(parser.hasPartialEvent)
        #expect(try parser.feed(Array("\n".utf8)) == [SSEEvent(data: "partial")])
        #expect(!parser.hasPartialEvent)
        // A CR at the end of one chunk and its LF at the start of the next make one line end.
        #expect(try parser.feed(Array("data: a\r".utf8)).isEmpty)
        #expect(try parser.feed(Array("\n\r".utf8)) == [SSEEvent(data: "a")])
        #expect(try parser.feed(Array("\n".utf8)).isEmpty)
        #expect(!parser.hasPartialEvent)
    }

    @Test func multiByteCharactersSplitAcrossChunks() throws {
        for size in [1, 2, 3, 5] {
            #expect(try Self.parse("data: é€😀 日本\n\n", chunkSize: size) == [SSEEvent(data: "é€😀 日本")])
        }
    }

    @Test func anOverlongLineIsAnError() throws {
        var parser = SSEParser(maxLineBytes: 16)
        #expect(try parser.feed(Array("data: 0123456789".utf8)).isEmpty)  // exactly 16 bytes
        #expect(throws: SSEParser.ParseError.lineTooLong) { try parser.feed(Array("X".utf8)) }
        var fresh = SSEParser(maxLineBytes: 16)
        #expect(try fresh.feed(Array("data: 0123456789\n\n".utf8)) == [SSEEvent(data: "0123456789")])
    }

    @Test(arguments: ["plain", "two\nlines", "a\r\nb", "cr\ronly", "", "trailing\n"])
    func writerOutputParsesBack(data: String) throws {
        let normalized = data.replacingCRLF()
        #expect(try Self.parse(String(decoding: SSEWriter.encode(data: data), as: UTF8.self), chunkSize: 1)
                == [SSEEvent(data: normalized)])
        #expect(try Self.parse(String(decoding: SSEWriter.encode(data: data, event: "e"), as: UTF8.self), chunkSize: 0)
                == [SSEEvent(event: "e", data: normalized)])
    }

    @Test func writerJSONAndDone() throws {
        let events = try Self.parse(String(decoding: SSEWriter.encode(json: ["a": 1]) + SSEWriter.done, as: UTF8.self),
                                    chunkSize: 7)
        #expect(events == [SSEEvent(data: #"{"a":1}"#), SSEEvent(data: "[DONE]")])
    }
}

extension String {
    /// What the SSE writer's data lines come back as: CRLF, CR and LF all become LF.
    fileprivate func replacingCRLF() -> String {
        var out = ""
        var previousCR = false
        for scalar in unicodeScalars {
            if scalar == "\n", previousCR {
                previousCR = false
                continue
            }
            previousCR = scalar == "\r"
            out.unicodeScalars.append(scalar == "\r" ? "\n" : scalar)
        }
        return out
    }
}
