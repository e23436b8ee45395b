import Testing
import TollgateCore
@testable import TollgateWire

@Suite struct AnthropicMessagesTests {
    let anthropic = AnthropicMessages()
    let provider = testProvider(type: "anthropic", baseURL: "https://api.anthropic.com", chat: AnthropicMessages(),
                                auth: WireRegistry.authStrategies["anthropic"]!, apiKey: "sk-ant-test")
    let model = "claude-sonnet-4-5-20250929"

    func context(stream: Bool = false, includeUsage: Bool = false, maxOutputTokens: Int? = nil) -> ChatContext {
        testContext(model: model, stream: stream, includeUsage: includeUsage, provider: provider,
                    maxOutputTokens: maxOutputTokens)
    }

    /// The request as the gateway hands it over: parameters outside `acceptedParameters` removed.
    func accepted(_ json: JSONValue) -> ChatRequestInput {
        guard case .object(var object) = json, let keys = anthropic.acceptedParameters else { return chatInput(json) }
        for key in object.keys where !keys.contains(key) { object[key] = nil }
        return chatInput(.object(object))
    }

    func body(_ request: JSONValue, context: ChatContext? = nil) throws -> JSONValue {
        let upstream = try anthropic.encode(accepted(request), context: context ?? self.context())
        return try JSONValue.parse(upstream.body)
    }

    /// A minimal request plus `extra` keys.
    func request(_ extra: [(String, JSONValue)] = []) -> JSONValue {
        var object = JSONObject([("model", "claude"), ("messages", [["role": "user", "content": "Hi"]])])
        for (key, value) in extra { object[key] = value }
        return .object(object)
    }

    // MARK: request

    @Test func richRequestIsTranslated() throws {
        let request = try Fixture.json("anthropic/request.json")
        let upstream = try anthropic.encode(accepted(request), context: context())
        #expect(upstream.url == "https://api.anthropic.com/v1/messages")
        #expect(upstream.method == "POST")
        #expect(upstream.headers["Content-Type"] == "application/json")
        #expect(upstream.headers["Accept"] == "application/json")
        #expect(upstream.headers["anthropic-version"] == "2023-06-01")
        #expect(try canonical(upstream.body) == canonical(Fixture.json("anthropic/request-expected.json")))
        // Parameters the gateway would have dropped are ignored by encode itself too.
        let unfiltered = try anthropic.encode(chatInput(request), context: context())
        #expect(unfiltered.body == upstream.body)
        #expect(!anthropic.acceptedParameters!.contains("seed"))
    }

    @Test func providerTypeResolvesWithAuthHeaders() throws {
        let config = try Config.parse(Array(#"""
            {"providers": {"claude": {"type": "anthropic", "api_key": "sk-ant-test", "models": ["claude-sonnet-4-5"]}}}
            """#.utf8))
        let resolved = try WireRegistry.resolve(config, environment: [:]).providers
        let p = try #require(resolved.first)
        #expect(p.baseURL == "https://api.anthropic.com")
        #expect(p.chat.name == "anthropic_messages")
        let upstream = try p.upstreamRequest(for: chatInput(request()), context: testContext(model: "claude-sonnet-4-5", provider: p))
        #expect(upstream.url == "https://api.anthropic.com/v1/messages")
        #expect(upstream.headers["x-api-key"] == "sk-ant-test")
        #expect(upstream.headers.values("anthropic-version") == ["2023-06-01"])
        #expect(upstream.headers["Authorization"] == nil)
    }

    @Test func streamingRequest() throws {
        let upstream = try anthropic.encode(chatInput(request([("stream", true)])), context: context(stream: true))
        #expect(upstream.headers["Accept"] == "text/event-stream")
        let json = try JSONValue.parse(upstream.body)
        #expect(json["stream"] == true)
        #expect(json["messages"] == [["role": "user", "content": "Hi"]])
    }

    @Test func maxTokensFallsBackToTheCatalogThenTheDefault() throws {
        #expect(try body(request([("max_tokens", 300)]))["max_tokens"] == 300)
        #expect(try body(request(), context: context(maxOutputTokens: 64000))["max_tokens"] == 64000)
        #expect(try body(request())["max_tokens"] == .int(AnthropicMessages.defaultMaxTokens))
        #expect(throws: GatewayError.self) { try body(request([("max_tokens", "many")])) }
    }

    /// (tool_choice, parallel_tool_calls, expected Anthropic tool_choice), as JSON text.
    static let toolChoices: [(String, String, String)] = [
        (#""auto""#, "null", #"{"type":"auto"}"#),
        (#""none""#, "null", #"{"type":"none"}"#),
        (#""required""#, "null", #"{"type":"any"}"#),
        (#"{"type":"function","function":{"name":"get_weather"}}"#, "null", #"{"type":"tool","name":"get_weather"}"#),
        (#"{"type":"function","function":{"name":"get_weather"}}"#, "false",
         #"{"type":"tool","name":"get_weather","disable_parallel_tool_use":true}"#),
        ("null", "false", #"{"type":"auto","disable_parallel_tool_use":true}"#),
        (#""none""#, "false", #"{"type":"none"}"#),
        (#""auto""#, "true", #"{"type":"auto"}"#),
    ]

    @Test(arguments: toolChoices)
    func toolChoiceVariants(choice: String, parallel: String, expected: String) throws {
        let tools: JSONValue = [["type": "function", "function": ["name": "get_weather", "parameters": ["type": "object"]]]]
        let json = try body(request([("tools", tools), ("tool_choice", JSONValue.parse(choice)),
                                     ("parallel_tool_calls", JSONValue.parse(parallel))]))
        #expect(json["tool_choice"] == (try JSONValue.parse(expected)))
    }

    @Test func toolChoiceWithoutToolsIsLeftOut() throws {
        let json = try body(request([("tool_choice", "required"), ("parallel_tool_calls", false)]))
        #expect(json["tool_choice"] == nil)
        #expect(json["tools"] == nil)
    }

    @Test func jsonObjectAsksForJSONInTheSystemPrompt() throws {
        let json = try body(request([("response_format", ["type": "json_object"])]))
        #expect(json["system"] == .string(AnthropicMessages.jsonObjectInstruction))
        #expect(json["output_config"] == nil)
        let text = try body(request([("response_format", ["type": "text"])]))
        #expect(text["system"] == nil)
    }

    @Test func samplingParameters() throws {
        let low = try body(request([("temperature", 0.3), ("top_p", 0.5), ("stop", "END"), ("user", "u-1")]))
        #expect(low["temperature"] == 0.3)
        #expect(low["top_p"] == nil)  // recent Claude models reject temperature with top_p
        #expect(low["stop_sequences"] == ["END"])
        #expect(low["metadata"] == ["user_id": "u-1"])
        let topP = try body(request([("top_p", 0.5), ("temperature", .null), ("stop", .null)]))
        #expect(topP["top_p"] == 0.5)
        #expect(topP["temperature"] == nil)
        #expect(topP["stop_sequences"] == nil)
        #expect(try body(request([("temperature", -1)]))["temperature"] == 0)
        #expect(try body(request([("temperature", 2)]))["temperature"] == 1)
    }

    @Test func consecutiveTurnsAreMerged() throws {
        let json = try body(request([("messages", [
            ["role": "user", "content": "One."],
            ["role": "user", "content": [["type": "text", "text": "Two."]]],
            ["role": "assistant", "content": ""],
            ["role": "system", "content": "Late system text is hoisted."],
            ["role": "assistant", "content": "Three."],
        ])]))
        #expect(json["system"] == "Late system text is hoisted.")
        #expect(json["messages"] == [
            ["role": "user", "content": [["type": "text", "text": "One."], ["type": "text", "text": "Two."]]],
            ["role": "assistant", "content": "Three."],
        ])
    }

    /// (messages as JSON text, the param the error must name).
    static let unsupportedMessages: [(String, String)] = [
        (#"[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAA","format":"wav"}}]}]"#,
         "messages[0].content[0].type"),
        (#"[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/bmp;base64,Qk0="}}]}]"#,
         "messages[0].content[0].image_url.url"),
        (#"[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://example.com/a.png"}}]}]"#,
         "messages[0].content[0].image_url.url"),
        (#"[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]"#,
         "messages[0].content[0].type"),
        (#"[{"role":"tool","content":"42"}]"#, "messages[0].tool_call_id"),
        (#"[{"role":"assistant","tool_calls":[{"type":"function","function":{"name":"f","arguments":"{}"}}]}]"#,
         "messages[0].tool_calls[0].id"),
        (#"[{"role":"function","name":"f","content":"42"}]"#, "messages[0].role"),
    ]

    @Test(arguments: unsupportedMessages)
    func unsupportedContentIsRejected(messages: String, param: String) throws {
        let messages = try JSONValue.parse(messages)
        let error = try #require(throws: GatewayError.self) { try body(request([("messages", messages)])) }
        #expect(error.status == 400)
        #expect(error.type == "invalid_request_error")
        #expect(error.param == param)
    }

    // MARK: response

    @Test(arguments: [
        ("anthropic/response-text.json", "anthropic/response-text-expected.json",
         Usage(promptTokens: 2112, completionTokens: 40, cachedTokens: 2000, reasoningTokens: 25)),
        ("anthropic/response-tool.json", "anthropic/response-tool-expected.json",
         Usage(promptTokens: 384, completionTokens: 62)),
    ])
    func responseIsTranslated(fixture: String, expected: String, usage: Usage) throws {
        let result = try anthropic.decodeResponse(status: 200, headers: HTTPHeaders(), body: Fixture.bytes(fixture),
                                                  context: context())
        #expect(try canonical(result.body) == canonical(Fixture.json(expected)))
        #expect(result.usage == usage)
    }

    @Test(arguments: [
        ("end_turn", "stop"), ("stop_sequence", "stop"), ("pause_turn", "stop"), ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"), ("tool_use", "tool_calls"), ("refusal", "content_filter"),
    ])
    func finishReasons(stopReason: String, finishReason: String) {
        #expect(AnthropicMessages.finishReason(stopReason) == finishReason)
    }

    @Test func brokenResponseIsABadGateway() {
        let error = #expect(throws: GatewayError.self) {
            try anthropic.decodeResponse(status: 200, headers: HTTPHeaders(), body: Array("<html>".utf8), context: context())
        }
        #expect(error?.status == 502)
        let overloaded = #expect(throws: GatewayError.self) {
            try anthropic.decodeResponse(status: 200, headers: HTTPHeaders(), body: Fixture.bytes("anthropic/error-529.json"),
                                         context: context())
        }
        #expect(overloaded == GatewayError(status: 529, type: "overloaded_error", message: "Overloaded"))
    }

    @Test func dataURLParametersAreIgnored() throws {
        let messages: JSONValue = [["role": "user", "content": [
            ["type": "image_url", "image_url": "data:image/JPG;name=a.jpg;base64,/9j/4AAQ"],
        ]]]
        let json = try body(request([("messages", messages)]))
        #expect(json["messages"]?[0]?["content"]?[0]?["source"]
                == ["type": "base64", "media_type": "image/jpeg", "data": "/9j/4AAQ"])
    }

    // MARK: stream

    func chunks(_ outputs: [StreamOutput]) throws -> [String] {
        try outputs.compactMap { if case .chunk(let c) = $0 { c } else { nil } }.map { try canonical(JSONValue.parse($0)) }
    }

    @Test(arguments: replayChunkSizes)
    func textStreamReplaysIdenticallyAtAnySplit(chunkSize: Int) throws {
        let stream = try Fixture.bytes("anthropic/stream-text.sse")
        let context = context(stream: true, includeUsage: true)
        let whole = replay(stream, chunkSize: 0) { anthropic.makeStreamDecoder(context: context) }
        let split = replay(stream, chunkSize: chunkSize) { anthropic.makeStreamDecoder(context: context) }
        #expect(split == whole)
        let expected = try #require(Fixture.json("anthropic/stream-text-expected.json").arrayValue).map(canonical)
        #expect(try chunks(whole) == expected)
        let final = Usage(promptTokens: 1825, completionTokens: 15, cachedTokens: 1800, reasoningTokens: 8)
        #expect(whole.filter { if case .usage = $0 { true } else { false } }
                == [.usage(Usage(promptTokens: 1825, completionTokens: 1, cachedTokens: 1800)), .usage(final)])
        #expect(whole.last == .done)
        #expect(whole.filter { $0 == .done }.count == 1)
    }

    @Test(arguments: replayChunkSizes)
    func toolStreamReplaysIdenticallyAtAnySplit(chunkSize: Int) throws {
        let stream = try Fixture.bytes("anthropic/stream-tool.sse")
        let context = context(stream: true, includeUsage: false)
        let whole = replay(stream, chunkSize: 0) { anthropic.makeStreamDecoder(context: context) }
        let split = replay(stream, chunkSize: chunkSize) { anthropic.makeStreamDecoder(context: context) }
        #expect(split == whole)
        let expected = try #require(Fixture.json("anthropic/stream-tool-expected.json").arrayValue).map(canonical)
        #expect(try chunks(whole) == expected)  // no usage chunk: the client did not ask
        #expect(whole.contains(.usage(Usage(promptTokens: 472, completionTokens: 89))))
        #expect(whole.last == .done)
    }

    @Test(arguments: replayChunkSizes)
    func midStreamErrorAndUnknownEvents(chunkSize: Int) throws {
        let stream = try Fixture.bytes("anthropic/stream-error.sse")
        let context = context(stream: true, includeUsage: true)
        let outputs = replay(stream, chunkSize: chunkSize) { anthropic.makeStreamDecoder(context: context) }
        #expect(try chunks(outputs).count == 2)  // role, "Partial"; the unknown event and delta add nothing
        #expect(outputs.count == 4)
        #expect(outputs.last == .error(GatewayError(status: 529, type: "overloaded_error", message: "Overloaded")))
        #expect(!outputs.contains(.done))
    }

    @Test func streamErrorStatuses() {
        #expect(AnthropicMessages.status(forStreamError: "overloaded_error") == 529)
        #expect(AnthropicMessages.status(forStreamError: "rate_limit_error") == 429)
        #expect(AnthropicMessages.status(forStreamError: "api_error") == 502)
    }

    @Test(arguments: [
        "event: message_start\ndata: {not json\n\n",
        "event: error\ndata: upstream exploded\n\n",
    ])
    func corruptEventsBecomeErrors(text: String) throws {
        let outputs = replay(Array(text.utf8), chunkSize: 3) { anthropic.makeStreamDecoder(context: context(stream: true)) }
        guard case .error(let error)? = outputs.last else {
            Issue.record("expected an error, got \(outputs)")
            return
        }
        #expect(error.status == 502)
    }

    @Test func streamWithoutStopEventIsNotDone() throws {
        let text = "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\",\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
            + "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":{\"output_tokens\":7}}"
        let outputs = replay(Array(text.utf8), chunkSize: 0) { anthropic.makeStreamDecoder(context: context(stream: true)) }
        #expect(!outputs.contains(.done))
        #expect(try chunks(outputs).last?.contains("\"finish_reason\":\"length\"") == true)
        #expect(outputs.last == .usage(Usage(promptTokens: 3, completionTokens: 7)))
    }

    // MARK: errors

    @Test func errorBodies() throws {
        let badRequest = anthropic.decodeFailure(status: 400, headers: HTTPHeaders(), body: try Fixture.bytes("anthropic/error-400.json")).error
        #expect(badRequest.status == 400)
        #expect(badRequest.type == "invalid_request_error")
        #expect(badRequest.message.hasPrefix("messages.1.content.0.image.source.base64.media_type: Input should be"))
        #expect(badRequest.retryAfter == nil)

        let limited = anthropic.decodeFailure(status: 429, headers: HTTPHeaders([("retry-after", "17")]),
                                            body: try Fixture.bytes("anthropic/error-429.json")).error
        #expect(limited.status == 429)
        #expect(limited.type == "rate_limit_error")
        #expect(limited.message.hasPrefix("This request would exceed the rate limit"))
        #expect(limited.retryAfter == 17)

        let overloaded = anthropic.decodeFailure(status: 529, headers: HTTPHeaders(), body: try Fixture.bytes("anthropic/error-529.json")).error
        #expect(overloaded == GatewayError(status: 529, type: "overloaded_error", message: "Overloaded"))
        #expect(overloaded.json["error"]?["type"] == "overloaded_error")
    }

    @Test func spendLimitCodeAndNonJSONBodies() {
        let spend = anthropic.decodeFailure(status: 429, headers: HTTPHeaders(), body: Array(#"""
            {"type":"error","error":{"type":"rate_limit_error","message":"Monthly spend limit reached.","details":{"error_code":"enforced_spend_limit_reached"}}}
            """#.utf8)).error
        #expect(spend.code == "enforced_spend_limit_reached")
        #expect(spend.retryAfter == nil)

        let html = anthropic.decodeFailure(status: 502, headers: HTTPHeaders([("Retry-After", "5")]),
                                         body: Array("<html><body>Bad Gateway</body></html>".utf8)).error
        #expect(html.status == 502)
        #expect(html.type == "server_error")
        #expect(html.message.contains("Bad Gateway"))
        #expect(html.retryAfter == 5)

        let empty = anthropic.decodeFailure(status: 500, headers: HTTPHeaders(), body: []).error
        #expect(empty.status == 500)
        #expect(!empty.message.isEmpty)
    }
}
