import Testing
import TollgateCore
@testable import TollgateWire

@Suite struct OpenAIChatTests {
    let provider = testProvider()

    @Test func requestPassesThroughWithModelRewritten() throws {
        let request = try Fixture.json("openai/request.json")
        let input = chatInput(request)
        let upstream = try OpenAIChat().encode(input, context: testContext(model: "gpt-4.1-mini", provider: provider))
        #expect(upstream.url == "https://upstream.test/v1/chat/completions")
        var expected = request
        expected["model"] = "gpt-4.1-mini"
        #expect(try canonical(upstream.body) == canonical(expected))
        #expect(upstream.headers["Content-Type"] == "application/json")
    }

    @Test func unchangedModelSendsTheClientBytes() throws {
        let raw = Array(#"{"model":"gpt-4.1","messages":[{"role":"user","content":"hi"}],"temperature":0.2}"#.utf8)
        let input = ChatRequestInput(json: try JSONValue.parse(raw), rawBody: raw, model: "gpt-4.1", stream: false)
        let upstream = try OpenAIChat().encode(input, context: testContext(model: "gpt-4.1", provider: provider))
        #expect(upstream.body == raw)
    }

    @Test func bearerAndQueryAreApplied() throws {
        var p = testProvider(query: "api-version=2024-10-21")
        p.headers = [("OpenAI-Project", "proj_1")]
        let input = chatInput(["model": "x", "messages": []])
        let upstream = try p.upstreamRequest(for: input, context: testContext(model: "x", provider: p))
        #expect(upstream.url == "https://upstream.test/v1/chat/completions?api-version=2024-10-21")
        #expect(upstream.headers["Authorization"] == "Bearer sk-test")
        #expect(upstream.headers["OpenAI-Project"] == "proj_1")
    }

    @Test func responseKeepsBodyAndReadsUsage() throws {
        let body = try Fixture.bytes("openai/response.json")
        let result = try OpenAIChat().decodeResponse(status: 200, headers: HTTPHeaders(), body: body,
                                                     context: testContext(model: "gpt-4.1-mini", provider: provider))
        #expect(result.body == body)
        #expect(result.usage == Usage(promptTokens: 19, completionTokens: 10, cachedTokens: 4, reasoningTokens: 2))
    }

    @Test(arguments: replayChunkSizes)
    func streamReplaysIdenticallyAtAnySplit(chunkSize: Int) throws {
        let stream = try Fixture.bytes("openai/stream.sse")
        let context = testContext(model: "gpt-4.1-mini", stream: true, includeUsage: true, provider: provider)
        let whole = replay(stream, chunkSize: 0) { OpenAIChat().makeStreamDecoder(context: context) }
        let split = replay(stream, chunkSize: chunkSize) { OpenAIChat().makeStreamDecoder(context: context) }
        #expect(split == whole)
        let chunks = whole.compactMap { if case .chunk(let c) = $0 { c } else { nil } }
        #expect(chunks.count == 5)
        #expect(whole.last == .done)
        #expect(whole.contains(.usage(Usage(promptTokens: 9, completionTokens: 3))))
    }

    @Test func usageChunkIsHiddenWhenTheClientDidNotAsk() throws {
        let stream = try Fixture.bytes("openai/stream.sse")
        let context = testContext(model: "gpt-4.1-mini", stream: true, includeUsage: false, provider: provider)
        let outputs = replay(stream, chunkSize: 0) { OpenAIChat().makeStreamDecoder(context: context) }
        let chunks = outputs.compactMap { if case .chunk(let c) = $0 { c } else { nil } }
        #expect(chunks.count == 4)
        #expect(outputs.contains(.usage(Usage(promptTokens: 9, completionTokens: 3))))
    }

    @Test func midStreamErrorAndUnknownEvents() throws {
        let stream = try Fixture.bytes("openai/stream-error.sse")
        let context = testContext(model: "m", stream: true, provider: provider)
        let outputs = replay(stream, chunkSize: 7) { OpenAIChat().makeStreamDecoder(context: context) }
        #expect(outputs.count == 2)
        guard case .error(let error) = outputs.last else {
            Issue.record("expected an error, got \(outputs)")
            return
        }
        #expect(error.message == "The server had an error while processing your request.")
        #expect(error.type == "server_error")
    }

    @Test func errorBodies() throws {
        let openAI = OpenAIChat().decodeFailure(status: 429, headers: HTTPHeaders([("retry-after-ms", "1500")]),
                                              body: try Fixture.bytes("openai/error-429.json")).error
        #expect(openAI.status == 429)
        #expect(openAI.type == "requests")
        #expect(openAI.code == "rate_limit_exceeded")
        #expect(openAI.message.hasPrefix("Rate limit reached"))
        #expect(openAI.retryAfter == 1.5)

        let text = OpenAIChat().decodeFailure(status: 502, headers: HTTPHeaders([("Retry-After", "3")]),
                                            body: Array("bad gateway from proxy".utf8)).error
        #expect(text.status == 502)
        #expect(text.message.contains("bad gateway from proxy"))
        #expect(text.retryAfter == 3)
        #expect(text.json["error"]?["type"] == "server_error")
    }
}
