import TollgateCore

/// A Converse answer → an OpenAI `chat.completion` (wire-formats.md §5.3).
extension BedrockConverse {
    public func decodeResponse(status: Int, headers: HTTPHeaders, body: [UInt8],
                               context: ChatContext) throws(GatewayError) -> ChatResult {
        if headers["Content-Type"]?.lowercased().hasPrefix("application/vnd.amazon.eventstream") == true {
            return try Self.completion(fromStream: body, context: context)
        }
        guard let json = try? JSONValue.parse(body), case .object = json else {
            throw GatewayError.badGateway("The upstream answered HTTP \(status) with a body that is not a JSON object.",
                                          code: "invalid_upstream_response")
        }
        guard let content = json["output"]?["message"]?["content"]?.arrayValue else {
            if json["message"] != nil { throw decodeFailure(status: 502, headers: headers, body: body).error }
            throw GatewayError.badGateway("The upstream Converse answer has no output.message.", code: "invalid_upstream_response")
        }
        var text = ""
        var calls: [JSONValue] = []
        for block in content {
            if let piece = block["text"]?.stringValue {
                text += piece
            } else if let use = block["toolUse"] {
                let arguments = use["input"].map { $0.serializedString() } ?? "{}"
                calls.append(["id": use["toolUseId"] ?? "", "type": "function",
                              "function": ["name": use["name"] ?? "", "arguments": .string(arguments)]])
            }
        }
        let usage = Bedrock.usage(json["usage"])
        let finishReason = Bedrock.finishReason(json["stopReason"]?.stringValue, sawToolUse: !calls.isEmpty)
        return ChatResult(body: Self.completion(text: text, calls: calls, finishReason: finishReason, usage: usage,
                                                context: context),
                          usage: usage)
    }

    /// An OpenAI `chat.completion` body.
    static func completion(text: String, calls: [JSONValue], finishReason: String, usage: Usage?,
                           context: ChatContext) -> [UInt8] {
        var message = JSONObject([("role", "assistant"), ("content", text.isEmpty && !calls.isEmpty ? .null : .string(text))])
        if !calls.isEmpty { message["tool_calls"] = .array(calls) }
        var completion = JSONObject([
            ("id", .string(completionID(context))), ("object", "chat.completion"), ("created", .int(context.created)),
            ("model", .string(context.upstreamModel)),
            ("choices", [["index": 0, "message": .object(message), "finish_reason": .string(finishReason)]]),
        ])
        if let usage { completion["usage"] = usage.openAIJSON }
        return JSONValue.object(completion).serialized()
    }

    /// Converse answers carry no id; ours derives from the gateway's request id.
    static func completionID(_ context: ChatContext) -> String { "chatcmpl-" + context.requestID }
}
