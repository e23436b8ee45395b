import Testing
import TollgateCore
@testable import TollgateWire

/// The inbound APIs: Claude Code- and Codex-shaped requests translated into the common request,
/// same-family streams relayed byte for byte at every chunk size, and the common stream rendered
/// back as Anthropic and Responses events.
@Suite struct InboundTests {
    // MARK: same-family relay

    @Test(arguments: replayChunkSizes)
    func anAnthropicStreamIsRelayedByteForByte(chunkSize: Int) throws {
        let bytes = try Fixture.bytes("inbound/anthropic-stream.sse")
        let outputs = replay(bytes, chunkSize: chunkSize) { SSEEventRelay(reader: AnthropicInbound.StreamReader()) }
        #expect(relayed(outputs) == bytes)
        // Usage: the input counts from message_start, the output count from message_delta.
        #expect(outputs.compactMap(usage).last == Usage(promptTokens: 2113 + 18240, completionTokens: 187, cachedTokens: 18240))
        #expect(outputs.last == .done)
        #expect(textBytes(outputs) > 0)
    }

    @Test(arguments: replayChunkSizes)
    func aResponsesStreamIsRelayedByteForByte(chunkSize: Int) throws {
        let bytes = try Fixture.bytes("inbound/responses-stream.sse")
        let outputs = replay(bytes, chunkSize: chunkSize) { SSEEventRelay(reader: ResponsesInbound.StreamReader()) }
        #expect(relayed(outputs) == bytes)
        #expect(outputs.compactMap(usage).last == Usage(promptTokens: 5120, completionTokens: 96, cachedTokens: 4096,
                                                       reasoningTokens: 64))
        #expect(outputs.last == .done)
    }

    @Test(arguments: ["\r\n", "\r"])
    func otherLineEndingsAreRelayedAsTheyCame(ending: String) throws {
        let text = try Fixture.text("inbound/anthropic-stream.sse").replacing("\n", with: ending)
        let bytes = Array(text.utf8)
        for size in replayChunkSizes {
            let outputs = replay(bytes, chunkSize: size) { SSEEventRelay(reader: AnthropicInbound.StreamReader()) }
            #expect(relayed(outputs) == bytes ? true : false, "chunk size \(size): \(relayed(outputs).count) of \(bytes.count) bytes relayed")
            #expect(outputs.last == .done)
        }
    }

    @Test func anUpstreamErrorEventIsNotRelayedButReported() throws {
        let stream = """
            event: message_start
            data: {"type":"message_start","message":{"id":"m","usage":{"input_tokens":9,"output_tokens":1}}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hel"}}

            event: error
            data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}


            """
        let outputs = replay(Array(stream.utf8), chunkSize: 5) { SSEEventRelay(reader: AnthropicInbound.StreamReader()) }
        let sent = String(decoding: relayed(outputs), as: UTF8.self)
        #expect(sent.contains("text_delta") && !sent.contains("overloaded_error"))
        guard case .error(let error) = outputs.last else { Issue.record("no error: \(outputs)"); return }
        #expect(error.status == 529 && error.message == "Overloaded")
        // The client's own error event, rendered by the gateway.
        let event = String(decoding: AnthropicInbound.errorEvent(error), as: UTF8.self)
        #expect(event == "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n")
    }

    @Test func aResponsesFailureIsReported() {
        let stream = #"event: response.failed"# + "\n"
            + #"data: {"type":"response.failed","sequence_number":3,"response":{"status":"failed","error":{"code":"server_error","message":"boom"}}}"#
            + "\n\n"
        let outputs = replay(Array(stream.utf8), chunkSize: 0) { SSEEventRelay(reader: ResponsesInbound.StreamReader()) }
        guard case .error(let error) = outputs.last else { Issue.record("no error: \(outputs)"); return }
        #expect(error.message == "boom" && relayed(outputs).isEmpty)
    }

    // MARK: requests

    @Test func aClaudeCodeRequestTranslates() throws {
        let translation = try AnthropicInbound.chatRequest(try Fixture.json("inbound/claude-code-request.json"))
        let chat = translation.chat
        let messages = try #require(chat["messages"]?.arrayValue)
        #expect(messages.map { $0["role"]?.stringValue ?? "" } == ["system", "user", "assistant", "tool", "tool", "user"])
        #expect(messages[0]["content"]?.stringValue?.hasPrefix("x-anthropic-billing-header") == true)
        #expect(messages[1]["content"]?.stringValue == "<system-reminder>context</system-reminder>\n\nFind the failing test and fix it.")
        let calls = try #require(messages[2]["tool_calls"]?.arrayValue)
        #expect(calls.map { $0["id"]?.stringValue } == ["toolu_01A", "toolu_01B"])
        #expect(try JSONValue.parse(Array((calls[1]["function"]?["arguments"]?.stringValue ?? "").utf8))
            == ["command": "make test", "description": "Run the tests"])
        #expect(messages[2]["content"]?.stringValue == "I'll look at the tests.")
        #expect(messages[3]["tool_call_id"]?.stringValue == "toolu_01A")
        #expect(messages[3]["content"]?.stringValue == "Tests/a.swift:3: func testA()")
        #expect(messages[4]["content"]?.stringValue == "Error: exit 1: testA failed")
        #expect(messages[5]["content"]?.stringValue == "Go on.")
        let tools = try #require(chat["tools"]?.arrayValue)
        #expect(tools.count == 8)  // the server tool (web search) has no common form
        #expect(tools[1]["function"]?["name"]?.stringValue == "Bash")
        #expect(tools[1]["function"]?["parameters"]?["required"] == ["command"])
        #expect(chat["tool_choice"] == "auto")
        #expect(chat["reasoning_effort"] == "high" && chat["max_tokens"] == 32000 && chat["stream"] == true)
        #expect(chat["user"]?.stringValue == "user_abc_account_123_session_456")
        #expect(translation.dropped.contains { $0.contains("thinking") })
        #expect(translation.dropped.contains { $0.contains("web_search") })
    }

    @Test func aCodexRequestTranslates() throws {
        let translation = try ResponsesInbound.chatRequest(try Fixture.json("inbound/codex-request.json"))
        let chat = translation.chat
        let messages = try #require(chat["messages"]?.arrayValue)
        #expect(messages.map { $0["role"]?.stringValue ?? "" }
            == ["system", "developer", "user", "assistant", "tool", "tool", "assistant", "user"])
        #expect(messages[2]["content"]?.stringValue == "<environment_context>cwd=/repo</environment_context>\n\nWhy does the build fail?")
        let calls = try #require(messages[3]["tool_calls"]?.arrayValue)
        #expect(calls.map { $0["id"]?.stringValue } == ["call_A", "call_B"])
        #expect(messages[3]["content"] == .null)
        #expect(messages[4]["tool_call_id"] == "call_A" && messages[4]["content"] == "error: missing semicolon")
        #expect(messages[6]["content"] == "A semicolon is missing.")
        let tools = try #require(chat["tools"]?.arrayValue)
        #expect(tools.count == 1 && tools[0]["function"]?["name"] == "shell")
        #expect(chat["parallel_tool_calls"] == false && chat["tool_choice"] == "auto")
        #expect(chat["reasoning_effort"] == "medium" && chat["verbosity"] == "medium")
        #expect(chat["prompt_cache_key"] == "019a-session")
        #expect(translation.dropped.contains { $0.contains("reasoning item") })
        #expect(translation.dropped.contains { $0.contains("custom tool") })
        #expect(translation.dropped.contains { $0.contains("web_search tool") })
    }

    @Test func badRequestsAreRefusedWithTheField() {
        #expect(throws: GatewayError.self) { try AnthropicInbound.chatRequest(["model": "m"]) }
        do {
            _ = try AnthropicInbound.chatRequest(["model": "m", "messages": [["role": "robot", "content": "x"]]])
        } catch {
            #expect(error.status == 400 && error.param == "messages.0.role")
        }
        do {
            _ = try ResponsesInbound.chatRequest(["model": "m", "input": 3])
        } catch {
            #expect(error.status == 400 && error.param == "input")
        }
    }

    // MARK: rendering the common stream

    /// An OpenAI stream with reasoning, text and two parallel tool calls, as the common decoder sees it.
    static let commonStream: [UInt8] = {
        func chunk(_ delta: String, finish: String = "null") -> String {
            #"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":"# + delta
                + #","finish_reason":"# + finish + "}]}\n\n"
        }
        var s = chunk(#"{"role":"assistant","content":""}"#)
        s += chunk(#"{"reasoning_content":"Thinking "}"#) + chunk(#"{"reasoning_content":"hard."}"#)
        s += chunk(#"{"content":"Grüße, "}"#) + chunk(#"{"content":"checking ✓"}"#)
        s += chunk(#"{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]}"#)
        s += chunk(#"{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]}"#)
        s += chunk(#"{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}"#)
        s += chunk(#"{"tool_calls":[{"index":1,"id":"call_2","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]}"#)
        s += chunk("{}", finish: #""tool_calls""#)
        s += #"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":30,"completion_tokens":12,"total_tokens":42}}"# + "\n\n"
        s += "data: [DONE]\n\n"
        return Array(s.utf8)
    }()

    static func commonOutputs(chunkSize: Int) -> [StreamOutput] {
        let provider = testProvider()
        let context = testContext(model: "m", stream: true, includeUsage: true, provider: provider)
        return replay(commonStream, chunkSize: chunkSize) { OpenAIChat().makeStreamDecoder(context: context) }
    }

    static func render(_ outputs: [StreamOutput], into renderer: inout some InboundStreamRenderer) -> [UInt8] {
        var out: [UInt8] = []
        var usage: Usage?
        for output in outputs {
            switch output {
            case .chunk(let text): out += renderer.events(forChunk: text)
            case .usage(let u): usage = u
            default: break
            }
        }
        return out + renderer.end(usage: usage)
    }

    @Test(arguments: replayChunkSizes)
    func theCommonStreamBecomesAnthropicEvents(chunkSize: Int) throws {
        var writer = AnthropicEventWriter(id: "msg_1", model: "route", estimatedInputTokens: 25)
        let bytes = Self.render(Self.commonOutputs(chunkSize: chunkSize), into: &writer)
        let events = try parseEvents(bytes)
        #expect(events.map(\.name) == [
            "message_start", "ping",
            "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop",
            "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
            "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
            "content_block_start", "content_block_delta", "content_block_stop",
            "message_delta", "message_stop",
        ])
        #expect(events.allSatisfy { $0.data["type"]?.stringValue == $0.name })
        let starts = events.filter { $0.name == "content_block_start" }
        #expect(starts.map { $0.data["index"]?.intValue } == [0, 1, 2, 3])
        #expect(starts.map { $0.data["content_block"]?["type"]?.stringValue } == ["thinking", "text", "tool_use", "tool_use"])
        #expect(starts[2].data["content_block"]?["id"] == "call_1")
        var inputs: [Int: String] = [:]
        for e in events where e.data["delta"]?["type"] == "input_json_delta" {
            inputs[e.data["index"]?.intValue ?? -1, default: ""] += e.data["delta"]?["partial_json"]?.stringValue ?? ""
        }
        #expect(inputs == [2: #"{"city":"Paris"}"#, 3: #"{"city":"Oslo"}"#])
        let end = events[events.count - 2].data
        #expect(end["delta"]?["stop_reason"] == "tool_use")
        #expect(end["usage"]?["output_tokens"] == 12 && end["usage"]?["input_tokens"] == 30)
        // The same events whatever the split.
        var whole = AnthropicEventWriter(id: "msg_1", model: "route", estimatedInputTokens: 25)
        #expect(bytes == Self.render(Self.commonOutputs(chunkSize: 0), into: &whole))
    }

    @Test(arguments: replayChunkSizes)
    func theCommonStreamBecomesResponsesEvents(chunkSize: Int) throws {
        let echo = ResponsesInbound.Echo(id: "resp_1", model: "route", createdAt: 5, request: ["tools": []])
        var writer = ResponsesEventWriter(echo: echo)
        let events = try parseEvents(Self.render(Self.commonOutputs(chunkSize: chunkSize), into: &writer))
        #expect(events.map(\.name) == [
            "response.created", "response.in_progress",
            "response.output_item.added", "response.content_part.added", "response.output_text.delta",
            "response.output_text.delta", "response.output_text.done", "response.content_part.done", "response.output_item.done",
            "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.delta",
            "response.function_call_arguments.done", "response.output_item.done",
            "response.output_item.added", "response.function_call_arguments.delta", "response.function_call_arguments.done",
            "response.output_item.done", "response.completed",
        ])
        #expect(events.map { $0.data["sequence_number"]?.intValue } == Array(0..<events.count).map { $0 })
        let completed = try #require(events.last?.data["response"])
        #expect(completed["status"] == "completed")
        let output = try #require(completed["output"]?.arrayValue)
        #expect(output.map { $0["type"]?.stringValue } == ["message", "function_call", "function_call"])
        #expect(output[0]["content"]?[0]?["text"] == "Grüße, checking ✓")
        #expect(output[1]["call_id"] == "call_1" && output[1]["arguments"] == #"{"city":"Paris"}"#)
        #expect(output[2]["arguments"] == #"{"city":"Oslo"}"#)
        #expect(completed["usage"]?["input_tokens"] == 30 && completed["usage"]?["output_tokens"] == 12)
    }

    @Test func aFailedResponsesStreamEndsWithResponseFailed() throws {
        var writer = ResponsesEventWriter(echo: ResponsesInbound.Echo(id: "resp_2", model: "m", createdAt: 0, request: .null))
        var bytes = writer.events(forChunk: #"{"choices":[{"index":0,"delta":{"content":"par"}}]}"#)
        bytes += writer.fail(.badGateway("The upstream connection failed mid-stream"))
        let events = try parseEvents(bytes)
        #expect(events.suffix(2).map(\.name) == ["error", "response.failed"])
        #expect(events.last?.data["response"]?["status"] == "failed")
        #expect(events.last?.data["response"]?["error"]?["message"] == "The upstream connection failed mid-stream")
        #expect(events.last?.data["response"]?["output"]?[0]?["status"] == "incomplete")
    }

    @Test func aCompletionBecomesAnAnthropicMessage() throws {
        let completion: JSONValue = [
            "choices": [["index": 0, "finish_reason": "length",
                         "message": ["role": "assistant", "content": "Hi", "reasoning_content": "hmm",
                                     "tool_calls": [["id": "c1", "type": "function",
                                                     "function": ["name": "f", "arguments": #"{"a":1}"#]]]]]],
            "usage": ["prompt_tokens": 10, "completion_tokens": 4, "prompt_tokens_details": ["cached_tokens": 3]],
        ]
        let message = AnthropicInbound.message(fromCompletion: completion, id: "msg_x", model: "r", usage: nil)
        #expect(message["content"]?.arrayValue?.map { $0["type"]?.stringValue } == ["thinking", "text", "tool_use"])
        #expect(message["content"]?[2]?["input"] == ["a": 1])
        #expect(message["stop_reason"] == "max_tokens")
        #expect(message["usage"]?["input_tokens"] == 7 && message["usage"]?["cache_read_input_tokens"] == 3)
    }

    @Test func aThoughtSignatureTravelsInTheCallID() throws {
        let signature = "Zm9v+YmFy/YmF6=="
        let id = ThoughtSignatureID.id("call_1", signature: signature)
        #expect(id.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" })
        #expect(ThoughtSignatureID.split(id) == ("call_1", signature))
        #expect(ThoughtSignatureID.split("toolu_01A") == ("toolu_01A", nil))
        // A Messages history with that id becomes a common call with the signature back in place.
        let translation = try AnthropicInbound.chatRequest([
            "model": "m", "messages": [
                ["role": "user", "content": "hi"],
                ["role": "assistant", "content": [["type": "tool_use", "id": .string(id), "name": "f", "input": [:]]]],
                ["role": "user", "content": [["type": "tool_result", "tool_use_id": .string(id), "content": "ok"]]],
            ],
        ])
        let messages = try #require(translation.chat["messages"]?.arrayValue)
        #expect(messages[1]["tool_calls"]?[0]?["id"] == "call_1")
        #expect(ThoughtSignatureID.signature(ofCall: messages[1]["tool_calls"]?[0]) == signature)
        #expect(messages[2]["tool_call_id"] == "call_1")
    }

    /// A Chat Completions stream for a Chat Completions client: the upstream's own bytes, but
    /// not the usage-only chunk the client did not ask for, nor `[DONE]` (its adapter writes that).
    @Test(arguments: replayChunkSizes)
    func aChatStreamIsRelayedAsItsBytes(chunkSize: Int) throws {
        let content = "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Grüße\"}}]}\r\n\r\n"
        let finish = ": keep-alive\n\ndata: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
        let usage = "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,\"total_tokens\":11}}\n\n"
        let bytes = Array((content + finish + usage + "data: [DONE]\n\n").utf8)
        let quiet = replay(bytes, chunkSize: chunkSize) { OpenAIChat.makeRelay(forwardUsageChunk: false) }
        #expect(relayed(quiet) == Array((content + finish).utf8))
        #expect(quiet.compactMap(usage(_:)) == [Usage(promptTokens: 9, completionTokens: 2)])
        #expect(quiet.last == .done && textBytes(quiet) == "Grüße".utf8.count)
        let asked = replay(bytes, chunkSize: chunkSize) { OpenAIChat.makeRelay(forwardUsageChunk: true) }
        #expect(relayed(asked) == Array((content + finish + usage).utf8))
        let failing = Array((content + "data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\"}}\n\n").utf8)
        let failed = replay(failing, chunkSize: chunkSize) { OpenAIChat.makeRelay(forwardUsageChunk: false) }
        #expect(relayed(failed) == Array(content.utf8))
        guard case .error(let error) = failed.last else { Issue.record("no error: \(failed)"); return }
        #expect(error.message == "boom")
    }

    /// The quick path for delta chunks (no `"usage"` or `"error"` in their bytes) and the full
    /// scan for the rest read the same: escaped words in text are deltas, a text that is
    /// exactly "usage" or "error" is scanned and still relayed, a data line that is not an
    /// object is left out, and an error inside a chunk still ends the stream.
    @Test(arguments: replayChunkSizes)
    func deltaChunksAndScannedChunksAgree(chunkSize: Int) throws {
        let escaped = "data: {\"choices\":[{\"delta\":{\"content\":\"say \\\"usage\\\" or \\\"error\\\"\"}}]}\n\n"
        let word = "data: {\"choices\":[{\"delta\":{\"content\":\"usage\"}}]}\n\n"
        let notObject = "data: [1, 2]\n\ndata: {\"choices\": 1\n\n"
        let bytes = Array((escaped + word + notObject + "data: [DONE]\n\n").utf8)
        let outputs = replay(bytes, chunkSize: chunkSize) { OpenAIChat.makeRelay(forwardUsageChunk: false) }
        #expect(relayed(outputs) == Array((escaped + word).utf8))
        #expect(textBytes(outputs) == #"say \"usage\" or \"error\""#.utf8.count + "usage".utf8.count)
        #expect(outputs.last == .done)
        let failing = Array((escaped + "data: {\"choices\":[],\"error\":{\"message\":\"late\"}}\n\n").utf8)
        let failed = replay(failing, chunkSize: chunkSize) { OpenAIChat.makeRelay(forwardUsageChunk: false) }
        guard case .error(let error) = failed.last else { Issue.record("no error: \(failed)"); return }
        #expect(error.message == "late")
    }

    /// The one-line `data:` shortcut reads what the general parser reads, and declines every
    /// other shape.
    @Test func theOneLineEventShortcutAgreesWithTheParser() throws {
        let shapes = ["data: {\"a\":1}\n\n", "data:{\"a\":1}\r\n\r\n", "data:  two spaces\r\r", "data: x\r\n\n",
                      "data: x\n\r\n", "data: x\n\r", "data: [DONE]\n\n", "data: Grüße\n\n"]
        for shape in shapes {
            var parser = SSEParser()
            let expected = try parser.feed(Array(shape.utf8) + [0x0A]).first
            #expect(SSEParser.singleDataLineEvent(Array(shape.utf8)) == expected, "\(shape)")
            #expect(expected != nil)
        }
        for other in ["event: ping\ndata: {}\n\n", "data: a\ndata: b\n\n", ": comment\n\n", "data:\n\n", "data: \n\n",
                      "id: 1\n\n", "data: x\n\nmore", "dat: x\n\n"] {
            #expect(SSEParser.singleDataLineEvent(Array(other.utf8)) == nil, "\(other)")
        }
    }

    // MARK: helpers

    func relayed(_ outputs: [StreamOutput]) -> [UInt8] {
        outputs.flatMap { output -> [UInt8] in if case .raw(let bytes, _) = output { bytes } else { [] } }
    }

    func textBytes(_ outputs: [StreamOutput]) -> Int {
        outputs.reduce(0) { sum, output in if case .raw(_, let n) = output { sum + n } else { sum } }
    }

    func usage(_ output: StreamOutput) -> Usage? {
        if case .usage(let u) = output { u } else { nil }
    }

    func parseEvents(_ bytes: [UInt8]) throws -> [(name: String, data: JSONValue)] {
        var parser = SSEParser()
        return try parser.feed(bytes).map { ($0.event ?? "", try JSONValue.parse(Array($0.data.utf8))) }
    }
}
