import Testing
import TollgateCore
@testable import TollgateWire

/// A Gemini provider as the registry resolves it.
func geminiProvider() -> ResolvedProvider {
    testProvider(type: "gemini", baseURL: "https://generativelanguage.googleapis.com", chat: GeminiChat(),
                 auth: WireRegistry.authStrategies["google"]!, apiKey: "AIza-test")
}

/// The `.chunk` outputs in canonical JSON.
func canonicalChunks(_ outputs: [StreamOutput]) throws -> [String] {
    try outputs.compactMap { output -> String? in
        guard case .chunk(let text) = output else { return nil }
        return canonical(try JSONValue.parse(text))
    }
}

@Suite struct GeminiChatTests {
    let provider = geminiProvider()
    let chat = GeminiChat()

    func encode(_ request: JSONValue, model: String = "gemini-2.5-flash", stream: Bool = false) throws -> JSONValue {
        let upstream = try chat.encode(chatInput(request), context: testContext(model: model, stream: stream, provider: provider))
        return try JSONValue.parse(upstream.body)
    }

    // MARK: request

    @Test func richRequestTranslates() throws {
        let request = try Fixture.json("gemini/request.json")
        let context = testContext(model: "gemini-3-flash-preview", provider: provider)
        let upstream = try chat.encode(chatInput(request), context: context)
        #expect(upstream.url
            == "https://generativelanguage.googleapis.com/v1beta/models/gemini-3-flash-preview:generateContent")
        #expect(upstream.headers["Content-Type"] == "application/json")
        #expect(upstream.headers["Accept"] == "application/json")
        #expect(upstream.headers["x-goog-api-key"] == nil)
        #expect(try canonical(upstream.body) == canonical(try Fixture.json("gemini/request.expected.json")))
    }

    @Test func parametersWithoutGeminiEquivalentAreNotAccepted() throws {
        let accepted = try #require(chat.acceptedParameters)
        for key in ["user", "parallel_tool_calls", "logprobs", "logit_bias", "reasoning_effort", "metadata"] {
            #expect(!accepted.contains(key), "\(key)")
        }
        for key in ["messages", "tools", "tool_choice", "response_format", "seed", "max_completion_tokens", "stream_options"] {
            #expect(accepted.contains(key), "\(key)")
        }
    }

    @Test func streamingRequestUsesSSEAndTheGoogleKeyHeader() throws {
        let input = chatInput(["model": "g", "messages": [["role": "user", "content": "hi"]], "stream": true])
        let upstream = try provider.upstreamRequest(
            for: input, context: testContext(model: "gemini-2.5-flash", stream: true, provider: provider))
        #expect(upstream.url
            == "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse")
        #expect(upstream.headers["Accept"] == "text/event-stream")
        #expect(upstream.headers["x-goog-api-key"] == "AIza-test")
        #expect(upstream.headers["Authorization"] == nil)
    }

    @Test(arguments: [("models/gemini-2.5-pro", "/v1beta/models/gemini-2.5-pro:generateContent"),
                      ("tunedModels/my-model-7", "/v1beta/tunedModels/my-model-7:generateContent")])
    func modelIDsWithACollectionKeepIt(model: String, path: String) throws {
        let input = chatInput(["model": "g", "messages": [["role": "user", "content": "hi"]]])
        let upstream = try chat.encode(input, context: testContext(model: model, provider: provider))
        #expect(upstream.url == "https://generativelanguage.googleapis.com" + path)
    }

    @Test(arguments: [("auto", "AUTO"), ("none", "NONE"), ("required", "ANY")])
    func toolChoiceModes(choice: String, mode: String) throws {
        let body = try encode([
            "model": "g", "messages": [["role": "user", "content": "hi"]],
            "tools": [["type": "function", "function": ["name": "lookup"]]], "tool_choice": .string(choice),
        ])
        #expect(body["toolConfig"] == ["functionCallingConfig": ["mode": .string(mode)]])
        #expect(body["tools"] == [["functionDeclarations": [["name": "lookup"]]]])
    }

    @Test func smallerParameterForms() throws {
        let body = try encode([
            "model": "g", "messages": [["role": "user", "content": "hi"]], "stop": "###", "max_tokens": 300,
            "max_completion_tokens": nil, "temperature": nil, "n": 2, "frequency_penalty": 0.25,
            "response_format": ["type": "json_object"], "tool_choice": "required",
        ])
        #expect(body["generationConfig"] == [
            "candidateCount": 2, "stopSequences": ["###"], "maxOutputTokens": 300, "frequencyPenalty": 0.25,
            "responseMimeType": "application/json",
        ])
        #expect(body["toolConfig"] == nil)
        #expect(body["systemInstruction"] == nil)
    }

    @Test func audioAndInlineFilesBecomeInlineData() throws {
        let body = try encode(["model": "g", "messages": [["role": "user", "content": [
            ["type": "input_audio", "input_audio": ["data": "UklGRg==", "format": "wav"]],
            ["type": "file", "file": ["filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0="]],
            ["type": "image_url", "image_url": ["url": "https://cdn.example.com/render?id=7"]],
        ]]]])
        #expect(body["contents"]?[0]?["parts"] == [
            ["inlineData": ["mimeType": "audio/wav", "data": "UklGRg=="]],
            ["inlineData": ["mimeType": "application/pdf", "data": "JVBERi0="]],
            ["fileData": ["mimeType": "image/jpeg", "fileUri": "https://cdn.example.com/render?id=7"]],
        ])
    }

    /// A replayed call without a signature: Gemini 3 would refuse it, older models must not get the sentinel.
    @Test(arguments: [("gemini-3-flash-preview", true), ("gemini-3.1-pro-preview", true), ("gemini-flash-latest", true),
                      ("models/gemini-3-pro-preview", true), ("gemini-2.5-flash", false), ("gemini-2.0-flash", false),
                      ("gemma-3-27b-it", false)])
    func unsignedHistoryGetsTheSkipSentinelOnGemini3(model: String, sentinel: Bool) throws {
        let body = try encode(["model": "g", "messages": [
            ["role": "user", "content": "Weather in Rome and Oslo?"],
            ["role": "assistant", "tool_calls": [
                ["id": "call_abc", "type": "function", "function": ["name": "get_weather", "arguments": "{\"city\":\"Rome\"}"]],
                ["id": "call_def", "type": "function", "function": ["name": "get_weather", "arguments": ""]],
            ]],
            ["role": "tool", "tool_call_id": "call_abc", "content": "20°C"],
            ["role": "tool", "tool_call_id": "call_def", "content": "3°C"],
        ]], model: model)
        let parts = try #require(body["contents"]?[1]?["parts"]?.arrayValue)
        #expect(parts[0]["thoughtSignature"] == (sentinel ? "skip_thought_signature_validator" : nil))
        #expect(parts[1]["thoughtSignature"] == nil)
        #expect(parts[1]["functionCall"]?["args"] == [:])
        #expect(body["contents"]?[2]?["parts"]?[1] == ["functionResponse": ["name": "get_weather", "response": ["output": "3°C"]]])
    }

    @Test(arguments: [
        (JSONValue.array([["role": "tool", "tool_call_id": "call_x", "content": "r"]]), "messages[0].tool_call_id"),
        (.array([["role": "user", "content": [["type": "image_url", "image_url": ["url": "ftp://x/y.png"]]]]]),
         "messages[0].content[0].image_url.url"),
        (.array([["role": "user", "content": [["type": "image_url", "image_url": ["url": "data:image/png,abc"]]]]]),
         "messages[0].content[0].image_url.url"),
        (.array([["role": "user", "content": [["type": "file", "file": ["file_id": "file-1"]]]]]),
         "messages[0].content[0].file"),
        (.array([["role": "user", "content": [["type": "video_url", "video_url": "x"]]]]), "messages[0].content[0].type"),
        (.array([["role": "system", "content": "only a system prompt"]]), "messages"),
        (.array([["role": "critic", "content": "x"]]), "messages[0].role"),
    ])
    func inexpressibleRequestsAreRefused(messages: JSONValue, param: String) throws {
        let error = #expect(throws: GatewayError.self) {
            try chat.encode(chatInput(["model": "g", "messages": messages]),
                            context: testContext(model: "gemini-2.5-flash", provider: provider))
        }
        #expect(error?.status == 400)
        #expect(error?.param == param)
    }

    @Test func nonFunctionToolsAreRefused() throws {
        let error = #expect(throws: GatewayError.self) {
            try chat.encode(chatInput(["model": "g", "messages": [["role": "user", "content": "hi"]],
                                       "tools": [["type": "custom", "custom": ["name": "x"]]]]),
                            context: testContext(model: "gemini-2.5-flash", provider: provider))
        }
        #expect(error?.param == "tools[0].type")
    }

    // MARK: response

    @Test func textAnswer() throws {
        let result = try chat.decodeResponse(status: 200, headers: HTTPHeaders(),
                                             body: try Fixture.bytes("gemini/response-text.json"),
                                             context: testContext(model: "gemini-2.5-flash", provider: provider))
        #expect(try canonical(result.body) == canonical(try Fixture.json("gemini/response-text.expected.json")))
        #expect(result.usage == Usage(promptTokens: 1250, completionTokens: 86, cachedTokens: 1024, reasoningTokens: 72))
    }

    @Test func toolCallAnswer() throws {
        let result = try chat.decodeResponse(status: 200, headers: HTTPHeaders(),
                                             body: try Fixture.bytes("gemini/response-tools.json"),
                                             context: testContext(model: "gemini-3-flash-preview", provider: provider))
        #expect(try canonical(result.body) == canonical(try Fixture.json("gemini/response-tools.expected.json")))
        #expect(result.usage == Usage(promptTokens: 96, completionTokens: 38))
    }

    @Test(arguments: [("MAX_TOKENS", "length"), ("SAFETY", "content_filter"), ("RECITATION", "content_filter"),
                      ("PROHIBITED_CONTENT", "content_filter"), ("MALFORMED_FUNCTION_CALL", "stop"), ("OTHER", "stop"),
                      ("SOMETHING_NEW", "stop")])
    func finishReasons(reason: String, expected: String) throws {
        let body: JSONValue = ["candidates": [["content": ["role": "model", "parts": [["text": "x"]]],
                                               "finishReason": .string(reason)]]]
        let result = try chat.decodeResponse(status: 200, headers: HTTPHeaders(), body: body.serialized(),
                                             context: testContext(model: "gemini-2.5-flash", provider: provider))
        #expect(try JSONValue.parse(result.body)["choices"]?[0]?["finish_reason"] == .string(expected))
    }

    @Test func blockedPromptIsAContentFilterAnswer() throws {
        let body: JSONValue = ["promptFeedback": ["blockReason": "PROHIBITED_CONTENT"],
                               "usageMetadata": ["promptTokenCount": 7, "totalTokenCount": 7]]
        let result = try chat.decodeResponse(status: 200, headers: HTTPHeaders(), body: body.serialized(),
                                             context: testContext(model: "gemini-2.5-flash", provider: provider))
        let json = try JSONValue.parse(result.body)
        #expect(json["choices"]?[0]?["finish_reason"] == "content_filter")
        #expect(json["choices"]?[0]?["message"]?["content"] == "")
        #expect(result.usage == Usage(promptTokens: 7))
    }

    @Test func errorInsideA200BodyIsThrown() throws {
        let error = #expect(throws: GatewayError.self) {
            try chat.decodeResponse(status: 200, headers: HTTPHeaders(), body: try Fixture.bytes("gemini/error-503.json"),
                                    context: testContext(model: "gemini-2.5-flash", provider: provider))
        }
        #expect(error?.status == 502)
        #expect(error?.type == "UNAVAILABLE")
    }

    // MARK: errors

    @Test func errorBodies() throws {
        let invalid = chat.decodeFailure(status: 400, headers: HTTPHeaders(), body: try Fixture.bytes("gemini/error-400.json")).error
        #expect(invalid == GatewayError(status: 400, type: "INVALID_ARGUMENT", code: "API_KEY_INVALID",
                                        message: "API key not valid. Please pass a valid API key."))

        let limited = chat.decodeFailure(status: 429, headers: HTTPHeaders(), body: try Fixture.bytes("gemini/error-429.json")).error
        #expect(limited.status == 429)
        #expect(limited.type == "RESOURCE_EXHAUSTED")
        #expect(limited.message.hasPrefix("You exceeded your current quota"))
        #expect(limited.retryAfter == 37)

        let overloaded = chat.decodeFailure(status: 503, headers: HTTPHeaders([("Retry-After", "5")]),
                                          body: try Fixture.bytes("gemini/error-503.json")).error
        #expect(overloaded == GatewayError(status: 503, type: "UNAVAILABLE",
                                           message: "The model is overloaded. Please try again later.", retryAfter: 5))

        let html = chat.decodeFailure(status: 502, headers: HTTPHeaders(), body: Array("<html>Bad Gateway</html>".utf8)).error
        #expect(html.status == 502)
        #expect(html.type == "server_error")
        #expect(html.message.contains("<html>Bad Gateway</html>"))
    }
}
