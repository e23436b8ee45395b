import Testing
import TollgateCore
@testable import TollgateWire

func bedrockProvider(apiKey: String? = nil, accessKeyID: String? = "AKIDEXAMPLE",
                     secretAccessKey: String? = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", sessionToken: String? = nil,
                     region: String = "us-east-1") -> ResolvedProvider {
    ResolvedProvider(name: "aws", type: "bedrock", baseURL: "https://bedrock-runtime.\(region).amazonaws.com",
                     chat: BedrockConverse(), embed: BedrockEmbed(), auth: BedrockAuth(),
                     credentials: ProviderCredentials(apiKey: apiKey, accessKeyID: accessKeyID,
                                                      secretAccessKey: secretAccessKey, sessionToken: sessionToken),
                     fields: ["region": region])
}

@Suite struct BedrockConverseTests {
    let model = "anthropic.claude-3-5-sonnet-20240620-v1:0"
    let provider = bedrockProvider()

    func context(stream: Bool = false, includeUsage: Bool = false) -> ChatContext {
        testContext(model: model, stream: stream, includeUsage: includeUsage, provider: provider)
    }

    func encode(_ json: JSONValue, stream: Bool = false) throws -> JSONValue {
        try JSONValue.parse(try BedrockConverse().encode(chatInput(json), context: context(stream: stream)).body)
    }

    // MARK: request

    @Test func richRequestTranslates() throws {
        let upstream = try BedrockConverse().encode(chatInput(try Fixture.json("bedrock/request.json")), context: context())
        #expect(try canonical(upstream.body) == canonical(try Fixture.json("bedrock/request.converse.json")))
        #expect(upstream.method == "POST")
        #expect(upstream.url == "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse")
        #expect(upstream.headers["Content-Type"] == "application/json")
        #expect(upstream.headers["Accept"] == "application/json")
        #expect(upstream.headers["Authorization"] == nil)
    }

    @Test func streamUsesConverseStream() throws {
        let upstream = try BedrockConverse().encode(chatInput(["model": "m", "stream": true, "messages": [["role": "user", "content": "hi"]]]),
                                                    context: context(stream: true))
        #expect(upstream.url.hasSuffix("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream"))
        #expect(upstream.headers["Accept"] == "application/vnd.amazon.eventstream")
        #expect(try canonical(upstream.body) == canonical(["messages": [["role": "user", "content": [["text": "hi"]]]]]))
    }

    @Test func modelIDIsOnePercentEncodedSegment() throws {
        let arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0"
        // Same as botocore's percent_encode (safe "-._~").
        #expect(try Bedrock.modelPath(arn, "converse")
            == "/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse")
        #expect(try Bedrock.modelPath("amazon.nova-pro-v1:0", "invoke") == "/model/amazon.nova-pro-v1%3A0/invoke")
    }

    static let toolChoices: [(JSONValue, JSONValue?)] = [
        ("auto", ["auto": [:]]),
        ("required", ["any": [:]]),
        (["type": "function", "function": ["name": "lookup"]], ["tool": ["name": "lookup"]]),
        (nil, ["auto": [:]]),
    ]

    @Test(arguments: toolChoices)
    func toolChoiceMaps(choice: JSONValue, expected: JSONValue?) throws {
        var request: JSONValue = ["model": "m", "messages": [["role": "user", "content": "hi"]],
                                  "tools": [["type": "function", "function": ["name": "lookup", "parameters": ["type": "object"]]]]]
        if !choice.isNull { request["tool_choice"] = choice }
        let body = try encode(request)
        #expect(body["toolConfig"]?["toolChoice"] == expected)
        #expect(body["toolConfig"]?["tools"]?[0]?["toolSpec"]?["inputSchema"] == ["json": ["type": "object"]])
    }

    @Test func toolChoiceNoneLeavesToolsOut() throws {
        let body = try encode(["model": "m", "messages": [["role": "user", "content": "hi"]], "tool_choice": "none",
                               "tools": [["type": "function", "function": ["name": "lookup"]]]])
        #expect(body["toolConfig"] == nil)
    }

    @Test func toolHistoryKeepsAToolConfig() throws {
        let history: JSONValue = [
            ["role": "user", "content": "hi"],
            ["role": "assistant", "tool_calls": [["id": "call 1/x", "type": "function",
                                                  "function": ["name": "lookup", "arguments": "{\"q\":1}"]]]],
            ["role": "tool", "tool_call_id": "call 1/x", "content": ""],
        ]
        // tool_choice none with a tool history: tools stay (Converse requires them), without a choice.
        let none = try encode(["model": "m", "messages": history, "tool_choice": "none",
                               "tools": [["type": "function", "function": ["name": "lookup", "description": "Find"]]]])
        #expect(none["toolConfig"]?["toolChoice"] == nil)
        #expect(none["toolConfig"]?["tools"]?[0]?["toolSpec"]?["description"] == "Find")
        // No tools at all: stub tools named after the calls.
        let bare = try encode(["model": "m", "messages": history])
        #expect(bare["toolConfig"] == ["tools": [["toolSpec": ["name": "lookup", "inputSchema": ["json": ["type": "object", "properties": [:]]]]]]])
        // An id outside Converse's alphabet is rewritten the same way in the call and its result;
        // an empty tool result is an empty content list.
        let messages = try #require(bare["messages"]?.arrayValue)
        #expect(messages[1]["content"]?[0]?["toolUse"]?["toolUseId"] == "call_1_x")
        #expect(messages[2]["content"]?[0] == ["toolResult": ["toolUseId": "call_1_x", "content": []]])
    }

    @Test func longToolIDsStayDistinctAndStable() {
        let a = BedrockConverse.toolUseID(String(repeating: "é", count: 40) + "a")
        let b = BedrockConverse.toolUseID(String(repeating: "é", count: 40) + "b")
        #expect(a.utf8.count == 64 && b.utf8.count == 64)
        #expect(a != b)
        #expect(a == BedrockConverse.toolUseID(String(repeating: "é", count: 40) + "a"))
        #expect(BedrockConverse.toolUseID("tooluse_kZJ.M:l-v") == "tooluse_kZJ.M:l-v")
    }

    @Test func httpsImagesAreRefusedNamingTheField() {
        let request: JSONValue = ["model": "m", "messages": [
            ["role": "user", "content": "first"],
            ["role": "user", "content": [["type": "text", "text": "look"],
                                         ["type": "image_url", "image_url": ["url": "https://example.com/cat.png"]]]],
        ]]
        let error = #expect(throws: GatewayError.self) { try BedrockConverse().encode(chatInput(request), context: context()) }
        #expect(error?.status == 400)
        #expect(error?.param == "messages[1].content[1].image_url.url")
        #expect(error?.message.contains("data: URL") == true)
    }

    @Test(arguments: [
        (["type": "input_audio", "input_audio": ["data": "AAAA", "format": "wav"]] as JSONValue, "messages[0].content[0]"),
        (["type": "image_url", "image_url": ["url": "data:image/bmp;base64,Qk0="]] as JSONValue, "messages[0].content[0].image_url.url"),
        (["type": "image_url", "image_url": ["url": "data:image/png,notbase64"]] as JSONValue, "messages[0].content[0].image_url.url"),
    ])
    func unsupportedPartsAreRefused(part: JSONValue, param: String) {
        let request: JSONValue = ["model": "m", "messages": [["role": "user", "content": [part]]]]
        let error = #expect(throws: GatewayError.self) { try BedrockConverse().encode(chatInput(request), context: context()) }
        #expect(error?.param == param)
    }

    @Test func smallerParameters() throws {
        let body = try encode(["model": "m", "messages": [["role": "system", "content": "Be brief."], ["role": "user", "content": "hi"]],
                               "response_format": ["type": "json_object"], "reasoning_effort": "minimal",
                               "temperature": 0.25, "stop": "STOP", "user": "naïve user"])
        #expect(body["system"] == [["text": "Be brief."], ["text": .string(BedrockConverse.jsonObjectInstruction)]])
        #expect(body["outputConfig"] == ["effort": "low"])
        #expect(body["inferenceConfig"] == ["temperature": 0.25, "stopSequences": ["STOP"]])
        // "ï" is outside requestMetadata's character set: the field is dropped.
        #expect(body["requestMetadata"] == nil)
        // Without any inference parameter there is no inferenceConfig (Converse uses the model's maximum).
        let bare = try encode(["model": "m", "messages": [["role": "user", "content": "hi"]], "response_format": ["type": "text"]])
        #expect(bare["inferenceConfig"] == nil && bare["outputConfig"] == nil && bare["system"] == nil)
    }

    @Test func acceptedParametersLeaveOutWhatConverseCannotCarry() throws {
        let accepted = try #require(BedrockConverse().acceptedParameters)
        for key in ["model", "messages", "stream", "stream_options", "tools", "tool_choice", "max_completion_tokens",
                    "response_format", "temperature", "top_p", "stop", "user"] {
            #expect(accepted.contains(key), "\(key)")
        }
        for key in ["seed", "n", "parallel_tool_calls", "logprobs", "presence_penalty", "top_k"] {
            #expect(!accepted.contains(key), "\(key)")
        }
    }

    @Test func malformedRequestsAreRefused() {
        for request: JSONValue in [["model": "m"], ["model": "m", "messages": []],
                                   ["model": "m", "messages": [["role": "function", "content": "x"]]],
                                   ["model": "m", "messages": [["role": "user", "content": "x"]], "max_tokens": 0]] {
            #expect(throws: GatewayError.self) { try BedrockConverse().encode(chatInput(request), context: context()) }
        }
    }

    // MARK: response

    @Test(arguments: [
        ("bedrock/response-text.json", "bedrock/response-text.openai.json", Usage(promptTokens: 129, completionTokens: 9, cachedTokens: 100)),
        ("bedrock/response-tool.json", "bedrock/response-tool.openai.json", Usage(promptTokens: 410, completionTokens: 56)),
    ])
    func responseTranslates(fixture: String, expected: String, usage: Usage) throws {
        let result = try BedrockConverse().decodeResponse(status: 200, headers: HTTPHeaders(), body: try Fixture.bytes(fixture),
                                                          context: context())
        #expect(try canonical(result.body) == canonical(try Fixture.json(expected)))
        #expect(result.usage == usage)
    }

    @Test func bufferedEventStreamBecomesOneCompletion() throws {
        let headers = HTTPHeaders([("Content-Type", "application/vnd.amazon.eventstream")])
        let tool = try BedrockConverse().decodeResponse(status: 200, headers: headers,
                                                        body: try EventStreamEncoder.stream(fixture: "bedrock/stream-tool.json"),
                                                        context: context(stream: true))
        let json = try JSONValue.parse(tool.body)
        #expect(canonical(json["choices"]?[0] ?? nil) == canonical([
            "index": 0, "finish_reason": "tool_calls",
            "message": ["role": "assistant", "content": "Checking.", "tool_calls": [
                ["id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "type": "function",
                 "function": ["name": "get_weather", "arguments": "{\"city\": \"Paris\"}"]],
                ["id": "tooluse_2bF0cWq1S0KxPq9cXnWv3w", "type": "function", "function": ["name": "get_time", "arguments": "{}"]],
            ]],
        ]))
        #expect(tool.usage == Usage(promptTokens: 412, completionTokens: 41, cachedTokens: 300))

        let throttled = EventStreamEncoder.event("messageStart", ["role": "assistant"])
            + EventStreamEncoder.exception("throttlingException", ["message": "slow down"])
        let error = #expect(throws: GatewayError.self) {
            try BedrockConverse().decodeResponse(status: 200, headers: headers, body: throttled, context: context(stream: true))
        }
        #expect(error?.status == 429)
        let cut = EventStreamEncoder.event("contentBlockDelta", ["contentBlockIndex": 0, "delta": ["text": "Hi"]])
        #expect(throws: GatewayError.self) {
            try BedrockConverse().decodeResponse(status: 200, headers: headers, body: cut, context: context(stream: true))
        }
    }

    @Test func responseWithoutOutputIsABadGateway() {
        #expect(throws: GatewayError.self) {
            try BedrockConverse().decodeResponse(status: 200, headers: HTTPHeaders(), body: Array("[1]".utf8), context: context())
        }
    }

    // MARK: stream

    func chunks(_ outputs: [StreamOutput]) throws -> [JSONValue] {
        try outputs.compactMap { output in
            if case .chunk(let text) = output { return try JSONValue.parse(text) }
            return nil
        }
    }

    @Test(arguments: replayChunkSizes)
    func textStreamReplays(chunkSize: Int) throws {
        let stream = try EventStreamEncoder.stream(fixture: "bedrock/stream-text.json")
        let context = context(stream: true, includeUsage: true)
        let whole = replay(stream, chunkSize: 0) { BedrockConverse().makeStreamDecoder(context: context) }
        let split = replay(stream, chunkSize: chunkSize) { BedrockConverse().makeStreamDecoder(context: context) }
        #expect(split == whole)

        let chunks = try chunks(whole)
        #expect(chunks.map { $0["choices"]?[0]?["delta"] } == [
            ["role": "assistant", "content": ""], ["content": "Hello"], ["content": " there, "],
            ["content": "friend \u{e9}\u{2603}."], [:], nil,
        ])
        #expect(chunks.map { $0["choices"]?[0]?["finish_reason"] } == [.null, .null, .null, .null, "stop", nil])
        #expect(chunks.allSatisfy { $0["id"] == "chatcmpl-req_test" && $0["object"] == "chat.completion.chunk"
                && $0["created"] == 1_700_000_000 && $0["model"] == .string(model) })
        #expect(chunks.last?["choices"] == [] && chunks.last?["usage"]?["total_tokens"] == 18)
        let usage = Usage(promptTokens: 12, completionTokens: 6)
        #expect(Array(whole.suffix(3)) == [.usage(usage), whole[whole.count - 2], .done])
        #expect(whole.contains(.usage(usage)))
    }

    @Test(arguments: replayChunkSizes)
    func toolStreamReplays(chunkSize: Int) throws {
        let stream = try EventStreamEncoder.stream(fixture: "bedrock/stream-tool.json")
        let context = context(stream: true)
        let whole = replay(stream, chunkSize: 0) { BedrockConverse().makeStreamDecoder(context: context) }
        let split = replay(stream, chunkSize: chunkSize) { BedrockConverse().makeStreamDecoder(context: context) }
        #expect(split == whole)

        let deltas = try chunks(whole).map { $0["choices"]?[0]?["delta"] }
        #expect(deltas == [
            ["role": "assistant", "content": ""],
            ["content": "Checking."],
            ["tool_calls": [["index": 0, "id": "tooluse_kZJMlvQmRJ6eAyJE5GIl7Q", "type": "function",
                             "function": ["name": "get_weather", "arguments": ""]]]],
            ["tool_calls": [["index": 0, "function": ["arguments": "{\"city\": \"Pa"]]]],
            ["tool_calls": [["index": 0, "function": ["arguments": "ris\"}"]]]],
            ["tool_calls": [["index": 1, "id": "tooluse_2bF0cWq1S0KxPq9cXnWv3w", "type": "function",
                             "function": ["name": "get_time", "arguments": ""]]]],
            ["tool_calls": [["index": 1, "function": ["arguments": "{}"]]]],
            [:],
        ])
        #expect(try chunks(whole).last?["choices"]?[0]?["finish_reason"] == "tool_calls")
        // No include_usage: the usage is reported to the gateway but sent in no chunk.
        #expect(Array(whole.suffix(2)) == [.usage(Usage(promptTokens: 412, completionTokens: 41, cachedTokens: 300)), .done])
    }

    @Test func exceptionMidStreamEndsWithAnError() throws {
        let stream = EventStreamEncoder.event("messageStart", ["role": "assistant"])
            + EventStreamEncoder.event("contentBlockDelta", ["contentBlockIndex": 0, "delta": ["text": "Hi"]])
            + EventStreamEncoder.exception("throttlingException", ["message": "Too many tokens, please wait before trying again."])
            + EventStreamEncoder.event("contentBlockDelta", ["contentBlockIndex": 0, "delta": ["text": "ignored"]])
        let outputs = replay(stream, chunkSize: 7) { BedrockConverse().makeStreamDecoder(context: context(stream: true)) }
        #expect(outputs.count == 3)
        guard case .error(let error) = outputs.last else {
            Issue.record("expected an error, got \(outputs)")
            return
        }
        #expect(error.status == 429)
        #expect(error.type == "throttlingException")
        #expect(error.message == "Too many tokens, please wait before trying again.")
    }

    @Test(arguments: [("serviceUnavailableException", 503), ("validationException", 400),
                      ("modelStreamErrorException", 502), ("internalServerException", 502)])
    func streamExceptionStatuses(type: String, status: Int) {
        let stream = EventStreamEncoder.exception(type, ["message": "went wrong", "originalStatusCode": 500])
        let outputs = replay(stream, chunkSize: 0) { BedrockConverse().makeStreamDecoder(context: context(stream: true)) }
        #expect(outputs == [.error(GatewayError(status: status, type: type, code: nil, message: "went wrong"))])
    }

    @Test func errorMessageTypeAndUnknownEvents() {
        let stream = EventStreamEncoder.event("messageStart", ["role": "assistant"])
            + EventStreamEncoder.event("somethingNew", ["x": 1])
            + EventStreamEncoder.message(headers: [(":message-type", "keepalive")], payload: [])
            + EventStreamEncoder.event("contentBlockDelta", ["contentBlockIndex": 0, "delta": ["reasoningContent": ["text": "hmm"]]])
            + EventStreamEncoder.message(headers: [(":message-type", "error"), (":error-code", "InternalFailure"),
                                                   (":error-message", "An internal error occurred.")], payload: [])
        let outputs = replay(stream, chunkSize: 1) { BedrockConverse().makeStreamDecoder(context: context(stream: true)) }
        #expect(outputs.count == 2)
        #expect(outputs.last == .error(GatewayError(status: 502, type: "InternalFailure", message: "An internal error occurred.")))
    }

    @Test(arguments: replayChunkSizes)
    func corruptFrameIsAnErrorNotACrash(chunkSize: Int) throws {
        var stream = try EventStreamEncoder.stream(fixture: "bedrock/stream-text.json")
        let second = EventStreamEncoder.event("messageStart", ["role": "assistant", "p": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVW"]).count
        stream[second + 20] ^= 0x01 // a payload byte of the second frame
        let outputs = replay(stream, chunkSize: chunkSize) { BedrockConverse().makeStreamDecoder(context: context(stream: true)) }
        #expect(outputs.count == 2)
        guard case .error(let error) = outputs.last else {
            Issue.record("expected an error, got \(outputs)")
            return
        }
        #expect(error.status == 502)
        #expect(error.message.contains("checksum"))
    }

    @Test func garbageIsAnError() {
        let outputs = replay(Array("{\"message\":\"not an event stream\"}".utf8), chunkSize: 0) {
            BedrockConverse().makeStreamDecoder(context: context(stream: true))
        }
        #expect(outputs.count == 1)
        if case .error = outputs.first {} else { Issue.record("expected an error, got \(outputs)") }
    }

    @Test func endsAtFinishWhenMetadataNeverComes() throws {
        let stream = EventStreamEncoder.event("contentBlockDelta", ["contentBlockIndex": 0, "delta": ["text": "Hi"]])
            + EventStreamEncoder.event("messageStop", ["stopReason": "max_tokens"])
        let outputs = replay(stream, chunkSize: 0) { BedrockConverse().makeStreamDecoder(context: context(stream: true, includeUsage: true)) }
        #expect(outputs.last == .done)
        #expect(try chunks(outputs).map { $0["choices"]?[0]?["finish_reason"] } == [.null, .null, "length"])

        // Neither messageStop nor metadata: no .done, the gateway reports the cut.
        let cut = EventStreamEncoder.event("contentBlockDelta", ["contentBlockIndex": 0, "delta": ["text": "Hi"]])
        let partial = replay(cut, chunkSize: 0) { BedrockConverse().makeStreamDecoder(context: context(stream: true)) }
        #expect(!partial.contains(.done))
    }

    @Test func metadataBeforeMessageStopWaitsForTheStopReason() throws {
        let stream = EventStreamEncoder.event("contentBlockDelta", ["contentBlockIndex": 0, "delta": ["text": "Hi"]])
            + EventStreamEncoder.event("metadata", ["usage": ["inputTokens": 3, "outputTokens": 1, "totalTokens": 4]])
            + EventStreamEncoder.event("messageStop", ["stopReason": "content_filtered"])
        let outputs = replay(stream, chunkSize: 0) { BedrockConverse().makeStreamDecoder(context: context(stream: true)) }
        #expect(try chunks(outputs).last?["choices"]?[0]?["finish_reason"] == "content_filter")
        #expect(Array(outputs.suffix(2)) == [.usage(Usage(promptTokens: 3, completionTokens: 1)), .done])
    }

    // MARK: errors

    @Test func errorBodies() {
        let converse = BedrockConverse()
        let validation = converse.decodeFailure(
            status: 400, headers: HTTPHeaders([("X-Amzn-ErrorType", "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/")]),
            body: Array(#"{"message":"The model returned the following errors: messages: roles must alternate"}"#.utf8)).error
        #expect(validation == GatewayError(status: 400, type: "ValidationException",
                                           message: "The model returned the following errors: messages: roles must alternate"))

        let throttled = converse.decodeFailure(status: 429, headers: HTTPHeaders([("x-amzn-ErrorType", "ThrottlingException"),
                                                                                ("Retry-After", "2")]),
                                             body: Array(#"{"message":"Too many requests, please wait before trying again."}"#.utf8)).error
        #expect(throttled.status == 429)
        #expect(throttled.type == "ThrottlingException")
        #expect(throttled.code == "rate_limit_exceeded")
        #expect(throttled.retryAfter == 2)

        // Throttling reported as 400 is still a rate limit.
        let throttled400 = converse.decodeFailure(status: 400, headers: HTTPHeaders(),
                                                body: Array(#"{"__type":"com.amazon.coral.availability#ThrottlingException","Message":"Rate exceeded"}"#.utf8)).error
        #expect(throttled400.status == 429 && throttled400.type == "ThrottlingException" && throttled400.message == "Rate exceeded")

        let unavailable = converse.decodeFailure(status: 503, headers: HTTPHeaders([("X-Amzn-ErrorType", "ServiceUnavailableException")]),
                                               body: Array(#"{"message":"Bedrock is unable to process your request."}"#.utf8)).error
        #expect(unavailable.status == 503 && unavailable.type == "ServiceUnavailableException")
        #expect(unavailable.json["error"]?["message"] == "Bedrock is unable to process your request.")

        let denied = converse.decodeFailure(status: 403, headers: HTTPHeaders([("X-Amzn-ErrorType", "UnrecognizedClientException:")]),
                                          body: Array(#"{"message":"The security token included in the request is invalid."}"#.utf8)).error
        #expect(denied.status == 403 && denied.type == "UnrecognizedClientException")

        let text = converse.decodeFailure(status: 502, headers: HTTPHeaders(), body: Array("<html>Bad Gateway</html>".utf8)).error
        #expect(text.status == 502 && text.type == "server_error" && text.message.contains("Bad Gateway"))
    }
}
