import TollgateCore

/// OpenAI `chat.completion.chunk`s → Anthropic's stream events, for a Messages client whose
/// answer comes from another family. Blocks are opened and closed in order with running
/// indexes: reasoning text → a `thinking` block, text → a `text` block, each tool call → its
/// own `tool_use` block whose arguments arrive as `input_json_delta`. The end is
/// `content_block_stop`, `message_delta` (stop reason and usage) and `message_stop`.
public struct AnthropicEventWriter {
    enum Block: Equatable { case thinking, text, tool(Int) }

    let id: String
    let model: String
    /// Input tokens for `message_start`, an estimate: the real count comes with the last chunks.
    let estimatedInputTokens: Int
    private var started = false
    private var open: Block?
    private var nextIndex = 0
    private var toolsSeen: Set<Int> = []
    private var stopReason = "end_turn"
    private var sawToolCall = false

    public init(id: String, model: String, estimatedInputTokens: Int) {
        self.id = id
        self.model = model
        self.estimatedInputTokens = estimatedInputTokens
    }

    /// The events for one chunk (JSON text).
    public mutating func events(forChunk text: String) -> [UInt8] {
        var out = start()
        guard let chunk = try? JSONValue.parse(Array(text.utf8)), let choice = chunk["choices"]?[0] else { return out }
        let delta = choice["delta"]
        if let reasoning = (delta?["reasoning_content"] ?? delta?["reasoning"])?.stringValue, !reasoning.isEmpty {
            out += enter(.thinking, start: ["type": "thinking", "thinking": "", "signature": ""])
            out += blockDelta(["type": "thinking_delta", "thinking": .string(reasoning)])
        }
        if let content = delta?["content"]?.stringValue, !content.isEmpty {
            out += enter(.text, start: ["type": "text", "text": ""])
            out += blockDelta(["type": "text_delta", "text": .string(content)])
        }
        for call in delta?["tool_calls"]?.arrayValue ?? [] {
            let index = call["index"]?.intValue ?? 0
            if !toolsSeen.contains(index) {
                toolsSeen.insert(index)
                sawToolCall = true
                let name = call["function"]?["name"]?.stringValue ?? ""
                let callID = call["id"]?.stringValue.map { ThoughtSignatureID.id($0, signature: ThoughtSignatureID.signature(ofCall: call)) }
                var block = AnthropicInbound.toolUseBlock(id: callID, name: name, input: .object(JSONObject()))
                if call["id"]?.stringValue == nil { block["id"] = .string("toolu_\(id)_\(index)") }
                out += enter(.tool(index), start: block)
            }
            // Arguments for a call whose block already closed cannot be placed: blocks are sequential.
            if let arguments = call["function"]?["arguments"]?.stringValue, !arguments.isEmpty, open == .tool(index) {
                out += blockDelta(["type": "input_json_delta", "partial_json": .string(arguments)])
            }
        }
        if let reason = choice["finish_reason"]?.stringValue {
            stopReason = AnthropicInbound.stopReason(reason)
        }
        return out
    }

    /// The end of a complete answer: the open block closed, the stop reason and usage, `message_stop`.
    public mutating func end(usage: Usage?) -> [UInt8] {
        var out = start()
        out += close()
        if sawToolCall, stopReason == "end_turn" { stopReason = "tool_use" }
        let usageJSON = AnthropicInbound.usageJSON(usage ?? Usage(promptTokens: estimatedInputTokens))
        out += AnthropicInbound.event("message_delta", [
            "type": "message_delta",
            "delta": ["stop_reason": .string(stopReason), "stop_sequence": .null],
            "usage": usageJSON,
        ])
        out += AnthropicInbound.event("message_stop", ["type": "message_stop"])
        return out
    }

    public mutating func markStarted() { started = true }

    /// `message_start` and a `ping`, once.
    mutating func start() -> [UInt8] {
        guard !started else { return [] }
        started = true
        let message: JSONValue = [
            "id": .string(id), "type": "message", "role": "assistant", "model": .string(model), "content": [],
            "stop_reason": .null, "stop_sequence": .null,
            "usage": AnthropicInbound.usageJSON(Usage(promptTokens: estimatedInputTokens, completionTokens: 1)),
        ]
        return AnthropicInbound.event("message_start", ["type": "message_start", "message": message])
            + AnthropicInbound.event("ping", ["type": "ping"])
    }

    /// Makes `block` the open one (closing another), starting it with `start`.
    mutating func enter(_ block: Block, start: JSONValue) -> [UInt8] {
        guard open != block else { return [] }
        var out = close()
        open = block
        out += AnthropicInbound.event("content_block_start", [
            "type": "content_block_start", "index": .int(nextIndex), "content_block": start,
        ])
        return out
    }

    func blockDelta(_ delta: JSONValue) -> [UInt8] {
        AnthropicInbound.event("content_block_delta", ["type": "content_block_delta", "index": .int(nextIndex), "delta": delta])
    }

    mutating func close() -> [UInt8] {
        guard open != nil else { return [] }
        var out: [UInt8] = []
        if open == .thinking {
            // A signature_delta ends every thinking block; there is no signature outside Anthropic.
            out += blockDelta(["type": "signature_delta", "signature": ""])
        }
        out += AnthropicInbound.event("content_block_stop", ["type": "content_block_stop", "index": .int(nextIndex)])
        open = nil
        nextIndex += 1
        return out
    }
}
