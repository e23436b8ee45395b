import Testing
import TollgateCore
@testable import TollgateWire

/// For an `openai_chat` upstream the client's bytes pass through: only the model id is
/// rewritten (and a usage request added to streams); nothing else changes, not even spacing.
@Suite struct OpenAIPassThroughTests {
    func input(_ text: String) throws -> ChatRequestInput {
        let bytes = Array(text.utf8)
        let scan = try JSONScan.scan(bytes)
        let input = ChatRequestInput(rawBody: bytes, scan: scan, model: "", stream: false)
        return ChatRequestInput(rawBody: bytes, scan: scan, model: input.member("model")?.stringValue ?? "",
                                stream: input.member("stream")?.boolValue ?? false)
    }

    func context(model: String, stream: Bool, clientWantsUsage: Bool = false) -> ChatContext {
        let provider = ResolvedProvider(name: "p", type: "openai_compatible", baseURL: "http://127.0.0.1:9/v1",
                                        chat: OpenAIChat(), auth: NoAuth())
        return provider.chatContext(upstreamModel: model, stream: stream, clientWantsUsage: clientWantsUsage,
                                    maxOutputTokens: nil, requestID: "req_1", created: 1)
    }

    @Test func anUnchangedModelSendsTheClientsBytes() throws {
        let text = #"{ "messages": [{"role":"user","content":"hi"}],   "model": "m", "x_vendor": {"a": 1} }"#
        let request = try OpenAIChat().encode(try input(text), context: context(model: "m", stream: false))
        #expect(request.body == Array(text.utf8))
    }

    @Test func theModelIsRewrittenInPlace() throws {
        let text = #"{ "messages": [{"role":"user","content":"hi"}],   "model": "fast", "temperature": 0.2 }"#
        let request = try OpenAIChat().encode(try input(text), context: context(model: "gpt-4.1-mini", stream: false))
        #expect(String(decoding: request.body, as: UTF8.self)
            == #"{ "messages": [{"role":"user","content":"hi"}],   "model": "gpt-4.1-mini", "temperature": 0.2 }"#)
    }

    @Test func aStreamAsksForUsageWithoutTouchingTheRest() throws {
        let text = #"{"model":"fast","stream":true,"messages":[{"role":"user","content":"hi \"quoted\""}]}"#
        let request = try OpenAIChat().encode(try input(text), context: context(model: "up/\"m\"", stream: true))
        let body = String(decoding: request.body, as: UTF8.self)
        #expect(body == #"{"stream_options":{"include_usage":true},"model":"up/\"m\"","stream":true,"messages":[{"role":"user","content":"hi \"quoted\""}]}"#)
        #expect(try JSONValue.parse(request.body)["stream_options"]?["include_usage"]?.boolValue == true)
    }

    @Test func aClientsOwnStreamOptionsAreKeptAndUsageAdded() throws {
        let text = #"{"model":"m","stream":true,"stream_options":{"continuous_usage_stats":true},"messages":[]}"#
        let request = try OpenAIChat().encode(try input(text), context: context(model: "m", stream: true))
        let json = try JSONValue.parse(request.body)
        #expect(json["stream_options"]?["include_usage"]?.boolValue == true)
        #expect(json["stream_options"]?["continuous_usage_stats"]?.boolValue == true)
    }

    @Test func theAnswerPassesThroughAndOnlyUsageIsRead() throws {
        let body = Array(#"{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":"ok"}}],"usage":{"prompt_tokens":3,"completion_tokens":5,"prompt_tokens_details":{"cached_tokens":1}}, "vendor": [1]}"#.utf8)
        let result = try OpenAIChat().decodeResponse(status: 200, headers: HTTPHeaders(), body: body,
                                                     context: context(model: "m", stream: false))
        #expect(result.body == body)
        #expect(result.usage?.promptTokens == 3)
        #expect(result.usage?.completionTokens == 5)
        #expect(result.usage?.cachedTokens == 1)
    }
}
