import Testing
import TollgateCore
@testable import TollgateWire

@Suite struct GeminiStreamTests {
    let provider = geminiProvider()

    func context(_ model: String, includeUsage: Bool = false) -> ChatContext {
        testContext(model: model, stream: true, includeUsage: includeUsage, provider: provider)
    }

    func decode(_ bytes: [UInt8], chunkSize: Int = 0, context: ChatContext) -> [StreamOutput] {
        replay(bytes, chunkSize: chunkSize) { GeminiChat().makeStreamDecoder(context: context) }
    }

    @Test(arguments: replayChunkSizes)
    func textStream(chunkSize: Int) throws {
        let stream = try Fixture.bytes("gemini/stream-text.sse")
        let context = context("gemini-2.5-flash", includeUsage: true)
        let whole = decode(stream, context: context)
        #expect(decode(stream, chunkSize: chunkSize, context: context) == whole)

        let expected = try #require(Fixture.json("gemini/stream-text.expected.json").arrayValue).map(canonical)
        #expect(try canonicalChunks(whole) == expected)
        let usages = whole.compactMap { if case .usage(let u) = $0 { u } else { nil } }
        #expect(usages == [Usage(promptTokens: 9),
                           Usage(promptTokens: 9, completionTokens: 45, reasoningTokens: 31)])
        #expect(whole.last == .done)
        #expect(!whole.contains { if case .error = $0 { true } else { false } })
    }

    @Test(arguments: replayChunkSizes)
    func toolCallStream(chunkSize: Int) throws {
        let stream = try Fixture.bytes("gemini/stream-tools.sse")
        let context = context("gemini-3-flash-preview")
        let whole = decode(stream, context: context)
        #expect(decode(stream, chunkSize: chunkSize, context: context) == whole)

        let expected = try #require(Fixture.json("gemini/stream-tools.expected.json").arrayValue).map(canonical)
        #expect(try canonicalChunks(whole) == expected)
        #expect(whole.contains(.usage(Usage(promptTokens: 96, completionTokens: 94, reasoningTokens: 56))))
        #expect(whole.last == .done)
    }

    @Test(arguments: replayChunkSizes)
    func midStreamErrorEndsTheStreamAndUnknownEventsAreIgnored(chunkSize: Int) throws {
        let outputs = decode(try Fixture.bytes("gemini/stream-error.sse"), chunkSize: chunkSize,
                             context: context("gemini-2.5-pro"))
        #expect(outputs.count == 3)  // role chunk, "Once upon", error: the keepalive-like event adds nothing
        #expect(try canonicalChunks(outputs).last?.contains("\"content\":\"Once upon\"") == true)
        guard case .error(let error)? = outputs.last else {
            Issue.record("expected an error, got \(outputs)")
            return
        }
        #expect(error == GatewayError(status: 503, type: "UNAVAILABLE",
                                      message: "The model is overloaded. Please try again later."))
    }

    @Test func streamThatEndsBeforeAFinishReasonIsNotDone() throws {
        let stream = try Fixture.text("gemini/stream-text.sse")
        let cut = stream.components(separatedBy: "\r\n\r\n").prefix(2).joined(separator: "\r\n\r\n") + "\r\n\r\n"
        let outputs = decode(Array(cut.utf8), chunkSize: 7, context: context("gemini-2.5-flash", includeUsage: true))
        #expect(try canonicalChunks(outputs).count == 3)
        #expect(!outputs.contains(.done))
        #expect(!outputs.contains { if case .error = $0 { true } else { false } })
    }

    @Test func finalEventWithoutBlankLineStillCounts() throws {
        var stream = try Fixture.bytes("gemini/stream-tools.sse")
        stream.removeLast(2)
        let outputs = decode(stream, chunkSize: 64, context: context("gemini-3-flash-preview"))
        #expect(outputs.last == .done)
        #expect(try canonicalChunks(outputs).count == 7)
    }

    @Test(arguments: [1, 0])
    func plainJSONErrorBodyInsteadOfSSE(chunkSize: Int) throws {
        let outputs = decode(try Fixture.bytes("gemini/error-429.json"), chunkSize: chunkSize,
                             context: context("gemini-2.5-flash"))
        #expect(outputs.count == 1)
        guard case .error(let error)? = outputs.first else {
            Issue.record("expected an error, got \(outputs)")
            return
        }
        #expect(error.status == 429)
        #expect(error.type == "RESOURCE_EXHAUSTED")
        #expect(error.retryAfter == 37)
    }

    @Test(arguments: ["data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hi\"}]\n\n",
                      "data: not json at all\n\n",
                      "\u{00}\u{FF}garbage without any event"])
    func corruptInputGivesAnError(text: String) throws {
        let outputs = decode(Array(text.utf8), chunkSize: 3, context: context("gemini-2.5-flash"))
        guard case .error(let error)? = outputs.last else {
            Issue.record("expected an error, got \(outputs)")
            return
        }
        #expect(error.status == 502)
        #expect(!outputs.contains(.done))
    }

    @Test func emptyBodyGivesNothing() {
        #expect(decode([], context: context("gemini-2.5-flash")).isEmpty)
    }

    @Test func blockedPromptStream() throws {
        let event: JSONValue = ["promptFeedback": ["blockReason": "SAFETY"],
                                "usageMetadata": ["promptTokenCount": 11, "totalTokenCount": 11]]
        let outputs = decode(SSEWriter.encode(json: event), context: context("gemini-2.5-flash"))
        let chunks = try canonicalChunks(outputs)
        #expect(chunks.count == 2)
        #expect(chunks.last?.contains("\"finish_reason\":\"content_filter\"") == true)
        #expect(outputs.contains(.usage(Usage(promptTokens: 11))))
        #expect(outputs.last == .done)
    }

    @Test func thoughtPartsAreNotStreamed() throws {
        let events: [JSONValue] = [
            ["candidates": [["content": ["role": "model", "parts": [["text": "Weighing options", "thought": true]]]]]],
            ["candidates": [["content": ["role": "model", "parts": [["text": "Done."]]], "finishReason": "STOP"]]],
        ]
        let outputs = decode(events.flatMap { SSEWriter.encode(json: $0) }, context: context("gemini-2.5-flash"))
        let chunks = try canonicalChunks(outputs)
        #expect(chunks.count == 3)
        #expect(!chunks.joined().contains("Weighing"))
        #expect(outputs.last == .done)
    }
}
