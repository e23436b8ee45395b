import Testing
import TollgateCore
@testable import TollgateWire

@Suite struct OpenAIResponsesTests {
    let responses = OpenAIResponses()
    let provider = testProvider(type: "openai", baseURL: "https://api.openai.com/v1", chat: OpenAIResponses(),
                                apiKey: "sk-test")
    let model = "gpt-4.1-2025-04-14"

    func context(stream: Bool = false, includeUsage: Bool = false) -> ChatContext {
        testContext(model: model, stream: stream, includeUsage: includeUsage, provider: provider)
    }

    /// The request as the gateway hands it over: parameters outside `acceptedParameters` removed.
    func accepted(_ json: JSONValue) -> ChatRequestInput {
        guard case .object(var object) = json, let keys = responses.acceptedParameters else { return chatInput(json) }
        for key in object.keys where !keys.contains(key) { object[key] = nil }
        return chatInput(.object(object))
    }

    func body(_ request: JSONValue, context: ChatContext? = nil) throws -> JSONValue {
        let upstream = try responses.encode(accepted(request), context: context ?? self.context())
        return try JSONValue.parse(upstream.body)
    }

    /// A minimal request plus `extra` keys.
    func request(_ extra: [(String, JSONValue)] = []) -> JSONValue {
        var object = JSONObject([("model", "gpt"), ("messages", [["role": "user", "content": "Hi"]])])
        for (key, value) in extra { object[key] = value }
        return .object(object)
    }

    static let weatherTool: JSONValue = [["type": "function", "function": ["name": "get_weather", "parameters": ["type": "object"]]]]

    // MARK: request

    @Test func richRequestIsTranslated() throws {
        let request = try Fixture.json("responses/request.json")
        let upstream = try responses.encode(accepted(request), context: context())
        #expect(upstream.url == "https://api.openai.com/v1/responses")
        #expect(upstream.method == "POST")
        #expect(upstream.headers["Content-Type"] == "application/json")
        #expect(upstream.headers["Accept"] == "application/json")
        #expect(try canonical(upstream.body) == canonical(Fixture.json("responses/request-expected.json")))
        // Parameters the gateway would have dropped are ignored by encode itself too.
        let unfiltered = try responses.encode(chatInput(request), context: context())
        #expect(unfiltered.body == upstream.body)
        for key in ["stop", "seed", "n", "logprobs", "frequency_penalty"] {
            #expect(!responses.acceptedParameters!.contains(key))
        }
    }

    @Test func protocolIsChosenOnAnOpenAIProvider() throws {
        let config = try Config.parse(Array(#"""
            {"providers": {"oai": {"type": "openai", "protocol": "openai_responses", "api_key": "sk-test", "models": ["gpt-4.1"]}}}
            """#.utf8))
        let resolved = try WireRegistry.resolve(config, environment: [:]).providers
        let p = try #require(resolved.first)
        #expect(p.chat.name == "openai_responses")
        #expect(p.embed?.name == "openai_embed")
        let upstream = try p.upstreamRequest(for: chatInput(request()), context: testContext(model: "gpt-4.1", provider: p))
        #expect(upstream.url == "https://api.openai.com/v1/responses")
        #expect(upstream.headers["Authorization"] == "Bearer sk-test")
    }

    @Test func streamingRequest() throws {
        let upstream = try responses.encode(chatInput(request([("stream", true), ("stream_options", ["include_usage": true])])),
                                            context: context(stream: true, includeUsage: true))
        #expect(upstream.headers["Accept"] == "text/event-stream")
        let json = try JSONValue.parse(upstream.body)
        #expect(json["stream"] == true)
        #expect(json["stream_options"] == nil)  // usage always arrives with response.completed
        #expect(json["input"] == [["type": "message", "role": "user", "content": "Hi"]])
    }

    @Test func storeIsOffUnlessTheClientAsks() throws {
        #expect(try body(request())["store"] == false)
        #expect(try body(request([("store", true)]))["store"] == true)
        #expect(try body(request([("store", .null)]))["store"] == false)
        #expect(throws: GatewayError.self) { try body(request([("store", "yes")])) }
    }

    @Test func maxOutputTokens() throws {
        #expect(try body(request([("max_tokens", 300)]))["max_output_tokens"] == 300)
        #expect(try body(request([("max_completion_tokens", 700), ("max_tokens", 300)]))["max_output_tokens"] == 700)
        #expect(try body(request([("max_tokens", 1)]))["max_output_tokens"] == .int(OpenAIResponses.minimumMaxOutputTokens))
        #expect(try body(request())["max_output_tokens"] == nil)
        #expect(throws: GatewayError.self) { try body(request([("max_tokens", "many")])) }
        #expect(throws: GatewayError.self) { try body(request([("max_completion_tokens", 0)])) }
    }

    /// (tool_choice, expected Responses tool_choice), as JSON text.
    static let toolChoices: [(String, String)] = [
        (#""auto""#, #""auto""#),
        (#""none""#, #""none""#),
        (#""required""#, #""required""#),
        (#"{"type":"function","function":{"name":"get_weather"}}"#, #"{"type":"function","name":"get_weather"}"#),
        (#"{"type":"allowed_tools","allowed_tools":{"mode":"required","tools":[{"type":"function","function":{"name":"get_weather"}}]}}"#,
         #"{"type":"allowed_tools","mode":"required","tools":[{"type":"function","name":"get_weather"}]}"#),
    ]

    @Test(arguments: toolChoices)
    func toolChoiceVariants(choice: String, expected: String) throws {
        let json = try body(request([("tools", Self.weatherTool), ("tool_choice", JSONValue.parse(choice)),
                                     ("parallel_tool_calls", true)]))
        #expect(json["tool_choice"] == (try JSONValue.parse(expected)))
        #expect(json["parallel_tool_calls"] == true)
        #expect(json["tools"] == [["type": "function", "name": "get_weather", "parameters": ["type": "object"], "strict": false]])
    }

    @Test func toolChoiceWithoutToolsIsLeftOut() throws {
        let json = try body(request([("tool_choice", "required"), ("parallel_tool_calls", false)]))
        #expect(json["tool_choice"] == nil)
        #expect(json["parallel_tool_calls"] == nil)
        #expect(json["tools"] == nil)
        #expect(throws: GatewayError.self) { try body(request([("tools", Self.weatherTool), ("tool_choice", "any")])) }
        let toolsOnly = try body(request([("tools", Self.weatherTool), ("tool_choice", .null)]))
        #expect(toolsOnly.objectValue?.keys.contains("tool_choice") == false)
        #expect(toolsOnly.objectValue?.keys.contains("parallel_tool_calls") == false)
    }

    @Test func responseFormats() throws {
        #expect(try body(request([("response_format", ["type": "json_object"])]))["text"] == ["format": ["type": "json_object"]])
        #expect(try body(request([("response_format", ["type": "text"])]))["text"] == ["format": ["type": "text"]])
        #expect(try body(request([("verbosity", "high")]))["text"] == ["verbosity": "high"])
        let bare = try body(request([("response_format", ["type": "json_schema", "json_schema": ["schema": ["type": "object"]]])]))
        #expect(bare["text"] == ["format": ["type": "json_schema", "name": "response", "schema": ["type": "object"], "strict": false]])
        #expect(throws: GatewayError.self) {
            try body(request([("response_format", ["type": "json_schema", "json_schema": ["name": "x"]])]))
        }
        #expect(try body(request()).objectValue?.keys.contains("text") == false)
    }

    @Test func samplingAndIdentityParameters() throws {
        let json = try body(request([
            ("temperature", 0.3), ("top_p", 0.5), ("user", "u-1"), ("safety_identifier", "h-9"), ("reasoning_effort", "high"),
            ("prompt_cache_key", "k"), ("service_tier", "flex"), ("metadata", ["a": "b"]),
        ]))
        #expect(json["temperature"] == 0.3)
        #expect(json["top_p"] == 0.5)
        #expect(json["user"] == "u-1")
        #expect(json["safety_identifier"] == "h-9")
        #expect(json["reasoning"] == ["effort": "high"])
        #expect(json["prompt_cache_key"] == "k")
        #expect(json["service_tier"] == "flex")
        #expect(json["metadata"] == ["a": "b"])
        let nulls = try body(request([("temperature", .null), ("user", .null), ("reasoning_effort", .null)]))
        #expect(nulls["temperature"] == nil)
        #expect(nulls["user"] == nil)
        #expect(nulls["reasoning"] == nil)
        #expect(throws: GatewayError.self) { try body(request([("temperature", "hot")])) }
    }

    @Test func filesCacheBreakpointsAndEmptyMessages() throws {
        let json = try body(request([("messages", [
            ["role": "system", "content": ""],
            ["role": "developer", "content": []],
            ["role": "user", "content": [
                ["type": "file", "file": ["filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0x"]],
                ["type": "text", "text": "Summarise.", "prompt_cache_breakpoint": ["mode": "explicit"]],
            ]],
            ["role": "assistant", "content": "", "tool_calls": []],
            ["role": "tool", "tool_call_id": "call_1"],
        ])]))
        #expect(json["input"] == [
            ["type": "message", "role": "user", "content": [
                ["type": "input_file", "file_data": "data:application/pdf;base64,JVBERi0x", "filename": "a.pdf"],
                ["type": "input_text", "text": "Summarise.", "prompt_cache_breakpoint": ["mode": "explicit"]],
            ]],
            ["type": "function_call_output", "call_id": "call_1", "output": ""],
        ])
    }

    /// (messages as JSON text, the param the error must name).
    static let unsupportedMessages: [(String, String)] = [
        (#"[{"role":"user","content":[{"type":"input_audio","input_audio":{"data":"AAA","format":"wav"}}]}]"#,
         "messages[0].content[0].type"),
        (#"[{"role":"user","content":[{"type":"image_url","image_url":{"url":"ftp://example.com/a.png"}}]}]"#,
         "messages[0].content[0].image_url.url"),
        (#"[{"role":"user","content":[{"type":"file","file":{"filename":"a.pdf"}}]}]"#, "messages[0].content[0].file"),
        (#"[{"role":"system","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]"#,
         "messages[0].content[0].type"),
        (#"[{"role":"assistant","content":[{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]"#,
         "messages[0].content[0].type"),
        (#"[{"role":"tool","content":"42"}]"#, "messages[0].tool_call_id"),
        (#"[{"role":"tool","tool_call_id":"c","content":[{"type":"image_url","image_url":{"url":"https://a.b/c.png"}}]}]"#,
         "messages[0].content[0].type"),
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

    @Test func onlyFunctionToolsAreAccepted() throws {
        let error = try #require(throws: GatewayError.self) {
            try body(request([("tools", [["type": "custom", "custom": ["name": "grammar"]]])]))
        }
        #expect(error.param == "tools[0].type")
    }

    // MARK: response

    @Test(arguments: [
        ("responses/response-text.json", "responses/response-text-expected.json",
         Usage(promptTokens: 2112, completionTokens: 96, cachedTokens: 2048, reasoningTokens: 64)),
        ("responses/response-tool.json", "responses/response-tool-expected.json",
         Usage(promptTokens: 384, completionTokens: 62)),
    ])
    func responseIsTranslated(fixture: String, expected: String, usage: Usage) throws {
        let result = try responses.decodeResponse(status: 200, headers: HTTPHeaders(), body: Fixture.bytes(fixture),
                                                  context: context())
        #expect(try canonical(result.body) == canonical(Fixture.json(expected)))
        #expect(result.usage == usage)
    }

    /// (status, incomplete reason, has a function call, expected finish_reason).
    @Test(arguments: [
        ("completed", "", false, "stop"), ("completed", "", true, "tool_calls"),
        ("incomplete", "max_output_tokens", false, "length"), ("incomplete", "max_output_tokens", true, "length"),
        ("incomplete", "content_filter", false, "content_filter"), ("incomplete", "", false, "stop"),
    ])
    func finishReasons(status: String, reason: String, functionCall: Bool, finishReason: String) throws {
        var response: JSONValue = ["status": .string(status), "output": []]
        if !reason.isEmpty { response["incomplete_details"] = ["reason": .string(reason)] }
        if functionCall { response["output"] = [["type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"]] }
        #expect(OpenAIResponses.finishReason(response, sawFunctionCall: false) == finishReason)
        let result = try responses.decodeResponse(status: 200, headers: HTTPHeaders(), body: response.serialized(),
                                                  context: context())
        let json = try JSONValue.parse(result.body)
        #expect(json["choices"]?[0]?["finish_reason"] == .string(finishReason))
        #expect(json["id"] == "chatcmpl-req_test")
        #expect(json["created"] == 1_700_000_000)
        #expect(json["model"] == .string(model))
        #expect(result.usage == nil)
    }

    @Test func refusalIsKept() throws {
        let response: JSONValue = ["id": "resp_1", "status": "completed", "output": [
            ["type": "message", "role": "assistant", "content": [["type": "refusal", "refusal": "I can't help with that."]]],
        ]]
        let result = try responses.decodeResponse(status: 200, headers: HTTPHeaders(), body: response.serialized(),
                                                  context: context())
        let message = try JSONValue.parse(result.body)["choices"]?[0]?["message"]
        #expect(message == ["role": "assistant", "content": .null, "refusal": "I can't help with that."])
    }

    @Test func failedAndBrokenResponsesAreErrors() throws {
        let broken = #expect(throws: GatewayError.self) {
            try responses.decodeResponse(status: 200, headers: HTTPHeaders(), body: Array("<html>".utf8), context: context())
        }
        #expect(broken?.status == 502)
        let failed: JSONValue = ["id": "resp_2", "object": "response", "status": "failed", "output": [],
                                 "error": ["code": "server_error", "message": "The model failed to answer."]]
        let failure = #expect(throws: GatewayError.self) {
            try responses.decodeResponse(status: 200, headers: HTTPHeaders(), body: failed.serialized(), context: context())
        }
        #expect(failure == GatewayError(status: 502, type: "server_error", code: "server_error", message: "The model failed to answer."))
        let badImage: JSONValue = ["status": "failed", "output": [], "error": ["code": "invalid_image_url", "message": "Bad image."]]
        let rejected = #expect(throws: GatewayError.self) {
            try responses.decodeResponse(status: 200, headers: HTTPHeaders(), body: badImage.serialized(), context: context())
        }
        #expect(rejected?.status == 400)
        #expect(rejected?.type == "invalid_request_error")
        let errorBody = #expect(throws: GatewayError.self) {
            try responses.decodeResponse(status: 200, headers: HTTPHeaders(), body: Fixture.bytes("responses/error-503.json"),
                                         context: context())
        }
        #expect(errorBody?.message == "The server is overloaded or not ready yet.")
        let noOutput = #expect(throws: GatewayError.self) {
            try responses.decodeResponse(status: 200, headers: HTTPHeaders(), body: Array(#"{"id":"resp_3"}"#.utf8), context: context())
        }
        #expect(noOutput?.status == 502)
    }

    // MARK: stream

    func chunks(_ outputs: [StreamOutput]) throws -> [String] {
        try outputs.compactMap { if case .chunk(let c) = $0 { c } else { nil } }.map { try canonical(JSONValue.parse($0)) }
    }

    func decode(_ text: String, chunkSize: Int = 0, includeUsage: Bool = false) -> [StreamOutput] {
        let context = context(stream: true, includeUsage: includeUsage)
        return replay(Array(text.utf8), chunkSize: chunkSize) { responses.makeStreamDecoder(context: context) }
    }

    @Test(arguments: replayChunkSizes)
    func textStreamReplaysIdenticallyAtAnySplit(chunkSize: Int) throws {
        let stream = try Fixture.bytes("responses/stream-text.sse")
        let context = context(stream: true, includeUsage: true)
        let whole = replay(stream, chunkSize: 0) { responses.makeStreamDecoder(context: context) }
        let split = replay(stream, chunkSize: chunkSize) { responses.makeStreamDecoder(context: context) }
        #expect(split == whole)
        let expected = try #require(Fixture.json("responses/stream-text-expected.json").arrayValue).map(canonical)
        #expect(try chunks(whole) == expected)
        let usage = Usage(promptTokens: 1825, completionTokens: 15, cachedTokens: 1792, reasoningTokens: 8)
        #expect(whole.filter { if case .usage = $0 { true } else { false } } == [.usage(usage)])
        // finish chunk, usage, usage chunk, done
        #expect(whole.suffix(3).first == .usage(usage))
        #expect(whole.last == .done)
        #expect(whole.filter { $0 == .done }.count == 1)
    }

    @Test(arguments: replayChunkSizes)
    func toolStreamReplaysIdenticallyAtAnySplit(chunkSize: Int) throws {
        let stream = try Fixture.bytes("responses/stream-tool.sse")
        let context = context(stream: true, includeUsage: false)
        let whole = replay(stream, chunkSize: 0) { responses.makeStreamDecoder(context: context) }
        let split = replay(stream, chunkSize: chunkSize) { responses.makeStreamDecoder(context: context) }
        #expect(split == whole)
        let expected = try #require(Fixture.json("responses/stream-tool-expected.json").arrayValue).map(canonical)
        #expect(try chunks(whole) == expected)  // no usage chunk: the client did not ask
        #expect(whole.suffix(2) == [.usage(Usage(promptTokens: 472, completionTokens: 89)), .done])
    }

    @Test(arguments: replayChunkSizes)
    func midStreamErrorAndUnknownEvents(chunkSize: Int) throws {
        let stream = try Fixture.bytes("responses/stream-error.sse")
        let context = context(stream: true, includeUsage: true)
        let outputs = replay(stream, chunkSize: chunkSize) { responses.makeStreamDecoder(context: context) }
        #expect(try chunks(outputs).count == 2)  // role, "Partial"; unknown events add nothing
        #expect(outputs.count == 3)
        #expect(outputs.last == .error(GatewayError(
            status: 429, type: "rate_limit_error", code: "rate_limit_exceeded",
            message: "Rate limit reached for gpt-4.1 on tokens per min (TPM). Please try again in 1.2s.")))
        #expect(!outputs.contains(.done))
    }

    @Test func nestedErrorEventKeepsTheProviderType() {
        let outputs = decode(#"""
            event: error
            data: {"type":"error","sequence_number":3,"error":{"type":"server_error","code":"server_is_overloaded","message":"The server is overloaded.","param":null}}


            """#)
        #expect(outputs == [.error(GatewayError(status: 503, type: "server_error", code: "server_is_overloaded",
                                                message: "The server is overloaded."))])
    }

    @Test func failedResponseReportsUsageThenTheError() {
        let outputs = decode(#"""
            event: response.created
            data: {"type":"response.created","response":{"id":"resp_f","created_at":1700000123,"model":"gpt-4.1","status":"in_progress","output":[]}}

            event: response.failed
            data: {"type":"response.failed","response":{"id":"resp_f","status":"failed","error":{"code":"server_error","message":"Something went wrong."},"usage":{"input_tokens":12,"input_tokens_details":{"cached_tokens":0},"output_tokens":3,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":15}}}


            """#)
        #expect(outputs.count == 3)
        #expect(outputs[1] == .usage(Usage(promptTokens: 12, completionTokens: 3)))
        #expect(outputs[2] == .error(GatewayError(status: 502, type: "server_error", code: "server_error",
                                                  message: "Something went wrong.")))
    }

    @Test func incompleteStreamEndsWithLength() throws {
        let outputs = decode(#"""
            event: response.output_text.delta
            data: {"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"Once upon"}

            event: response.incomplete
            data: {"type":"response.incomplete","response":{"id":"resp_i","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[],"usage":{"input_tokens":9,"output_tokens":16}}}
            """#, chunkSize: 5, includeUsage: true)
        let chunks = try chunks(outputs)
        #expect(chunks.count == 4)  // role, text, finish, usage chunk
        #expect(chunks[0].contains("\"id\":\"chatcmpl-req_test\""))  // no response.created: our own id
        #expect(chunks[2].contains("\"finish_reason\":\"length\""))
        #expect(outputs.contains(.usage(Usage(promptTokens: 9, completionTokens: 16))))
        #expect(outputs.last == .done)
    }

    @Test func argumentsSentWholeStillArrive() throws {
        // A server that announces the call, then sends the arguments only in the .done events.
        let outputs = decode(#"""
            event: response.output_item.added
            data: {"type":"response.output_item.added","output_index":1,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"f","arguments":""}}

            event: response.function_call_arguments.done
            data: {"type":"response.function_call_arguments.done","item_id":"fc_1","output_index":1,"name":"f","arguments":"{\"a\":1}"}

            event: response.output_item.done
            data: {"type":"response.output_item.done","output_index":1,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"f","arguments":"{\"a\":1}"}}

            event: response.output_item.done
            data: {"type":"response.output_item.done","output_index":2,"item":{"type":"function_call","id":"fc_2","call_id":"call_2","name":"g","arguments":"{}"}}

            event: response.completed
            data: {"type":"response.completed","response":{"id":"resp_w","status":"completed","output":[]}}


            """#)
        let choices = try chunks(outputs).map { try JSONValue.parse($0)["choices"]?[0] ?? .null }
        #expect(choices.count == 5)
        func call(_ i: Int) -> String { canonical(choices[i]["delta"]?["tool_calls"]?[0] ?? .null) }
        #expect(call(1) == canonical(["index": 0, "id": "call_1", "type": "function", "function": ["name": "f", "arguments": ""]]))
        #expect(call(2) == canonical(["index": 0, "function": ["arguments": "{\"a\":1}"]]))
        #expect(call(3) == canonical(["index": 1, "id": "call_2", "type": "function", "function": ["name": "g", "arguments": "{}"]]))
        #expect(choices[4]["finish_reason"] == "tool_calls")
        #expect(outputs.last == .done)
    }

    @Test func refusalDeltasAndADoneSentinel() throws {
        let outputs = decode(#"""
            event: response.refusal.delta
            data: {"type":"response.refusal.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"I can't"}

            event: response.completed
            data: {"type":"response.completed","response":{"id":"resp_r","status":"completed","output":[]}}

            data: [DONE]


            """#)
        #expect(try chunks(outputs)[1].contains("\"refusal\":\"I can't\""))
        #expect(outputs.last == .done)
    }

    @Test(arguments: [
        "event: response.completed\ndata: {not json\n\n",
        "event: error\ndata: upstream exploded\n\n",
        "data: garbage without an event name\n\n",
    ])
    func corruptEventsBecomeErrors(text: String) throws {
        let outputs = decode(text, chunkSize: 3)
        guard case .error(let error)? = outputs.last else {
            Issue.record("expected an error, got \(outputs)")
            return
        }
        #expect(error.status == 502)
    }

    @Test func streamWithoutTerminalEventIsNotDone() {
        let outputs = decode(#"""
            event: response.created
            data: {"type":"response.created","response":{"id":"resp_x","status":"in_progress","output":[]}}

            event: response.output_text.delta
            data: {"type":"response.output_text.delta","item_id":"msg_1","output_index":0,"content_index":0,"delta":"Hi"}
            """#)
        #expect(outputs.count == 2)
        #expect(!outputs.contains(.done))
    }

    @Test(arguments: [
        ("rate_limit_exceeded", nil, 429), ("insufficient_quota", nil, 429), ("server_is_overloaded", nil, 503),
        ("invalid_prompt", nil, 400), ("server_error", nil, 502), (nil, "invalid_request_error", 400), (nil, nil, 502),
    ] as [(String?, String?, Int)])
    func errorStatuses(code: String?, type: String?, status: Int) {
        #expect(OpenAIResponses.status(forErrorCode: code, type: type) == status)
    }

    // MARK: errors

    @Test func errorBodies() throws {
        let badRequest = responses.decodeFailure(status: 400, headers: HTTPHeaders(), body: try Fixture.bytes("responses/error-400.json")).error
        #expect(badRequest.status == 400)
        #expect(badRequest.type == "invalid_request_error")
        #expect(badRequest.param == "max_output_tokens")
        #expect(badRequest.code == "integer_below_min_value")
        #expect(badRequest.message.hasPrefix("Invalid 'max_output_tokens'"))
        #expect(badRequest.retryAfter == nil)

        let limited = responses.decodeFailure(status: 429, headers: HTTPHeaders([("retry-after-ms", "2752"), ("retry-after", "3")]),
                                            body: try Fixture.bytes("responses/error-429.json")).error
        #expect(limited.status == 429)
        #expect(limited.type == "tokens")
        #expect(limited.code == "rate_limit_exceeded")
        #expect(limited.message.hasPrefix("Rate limit reached for gpt-4.1"))
        #expect(limited.retryAfter == 2.752)

        let overloaded = responses.decodeFailure(status: 503, headers: HTTPHeaders([("retry-after", "1")]),
                                               body: try Fixture.bytes("responses/error-503.json")).error
        #expect(overloaded == GatewayError(status: 503, type: "server_error", message: "The server is overloaded or not ready yet.",
                                           retryAfter: 1))

        let html = responses.decodeFailure(status: 502, headers: HTTPHeaders(), body: Array("<html><body>Bad Gateway</body></html>".utf8)).error
        #expect(html.status == 502)
        #expect(html.type == "server_error")
        #expect(html.message.contains("Bad Gateway"))
    }
}
