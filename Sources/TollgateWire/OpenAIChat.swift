import TollgateCore

/// `openai_chat`: OpenAI Chat Completions, spoken by OpenAI and every OpenAI-compatible server.
/// The client's request passes through unchanged except for the model id.
/// Reference: https://platform.openai.com/docs/api-reference/chat (wire-formats.md §1).
public struct OpenAIChat: ChatProtocol {
    public let name = "openai_chat"
    public let path = "/chat/completions"
    public init() {}

    /// Everything passes through: the upstream speaks this dialect natively, and vendor
    /// extensions (vLLM's `top_k`, OpenRouter's `provider`) are the client's to send.
    public let acceptedParameters: Set<String>? = nil

    /// OpenAI's documented request parameters, for protocols that translate from them.
    public static let standardParameters: Set<String> = [
        "model", "messages", "stream", "stream_options", "temperature", "top_p", "n", "stop", "max_tokens",
        "max_completion_tokens", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs",
        "user", "seed", "tools", "tool_choice", "parallel_tool_calls", "response_format", "reasoning_effort",
        "modalities", "audio", "prediction", "store", "metadata", "service_tier", "web_search_options",
        "verbosity", "prompt_cache_key", "safety_identifier", "functions", "function_call",
    ]

    // MARK: request

    public func encode(_ request: ChatRequestInput, context: ChatContext) throws(GatewayError) -> UpstreamRequest {
        // Streams always ask for usage so the ledger records real tokens; the usage chunk is
        // forwarded only to clients that asked for it themselves.
        let addUsage = context.stream && context.provider.streamUsage && !context.clientWantsUsage
        let body: [UInt8]
        if request.json["model"]?.stringValue == context.upstreamModel, !addUsage {
            body = request.rawBody
        } else {
            var json = request.json
            json["model"] = .string(context.upstreamModel)
            if addUsage {
                var options = json["stream_options"]?.objectValue ?? JSONObject()
                options["include_usage"] = true
                json["stream_options"] = .object(options)
            }
            body = json.serialized()
        }
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        headers.add("Accept", context.stream ? "text/event-stream" : "application/json")
        return UpstreamRequest(url: context.provider.url(path: path), headers: headers, body: body)
    }

    // MARK: response

    public func decodeResponse(status: Int, headers: HTTPHeaders, body: [UInt8],
                               context: ChatContext) throws(GatewayError) -> ChatResult {
        guard let json = try? JSONValue.parse(body), case .object = json else {
            throw GatewayError.badGateway("The upstream answered HTTP \(status) with a body that is not a JSON object.",
                                          code: "invalid_upstream_response")
        }
        if json["error"] != nil, json["choices"] == nil {
            throw decodeError(status: 502, headers: headers, body: body)
        }
        return ChatResult(body: body, usage: Usage(openAI: json["usage"]))
    }

    // MARK: stream

    public func makeStreamDecoder(context: ChatContext) -> any ChatStreamDecoder {
        StreamDecoder(forwardUsageChunk: context.clientWantsUsage)
    }

    struct StreamDecoder: ChatStreamDecoder {
        var parser = SSEParser()
        let forwardUsageChunk: Bool

        init(forwardUsageChunk: Bool) { self.forwardUsageChunk = forwardUsageChunk }

        mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [StreamOutput] {
            do {
                return try parser.feed(bytes).flatMap { decode($0) }
            } catch {
                return [.error(.badGateway("The upstream sent an event line longer than allowed."))]
            }
        }

        mutating func finish() -> [StreamOutput] {
            // A final event without its blank line still counts.
            (try? parser.feed([0x0A, 0x0A]))?.flatMap { decode($0) } ?? []
        }

        func decode(_ event: SSEEvent) -> [StreamOutput] {
            let data = event.data
            if data == "[DONE]" { return [.done] }
            guard let json = try? JSONValue.parse(data), case .object = json else { return [] }
            if let error = json["error"], !error.isNull {
                return [.error(OpenAIChat.error(from: json, status: 502, headers: HTTPHeaders()))]
            }
            var outputs: [StreamOutput] = []
            if let usage = Usage(openAI: json["usage"]) { outputs.append(.usage(usage)) }
            let isUsageOnly = (json["choices"]?.arrayValue?.isEmpty ?? true) && json["usage"] != nil
            if !isUsageOnly || forwardUsageChunk { outputs.append(.chunk(data)) }
            return outputs
        }
    }

    // MARK: errors

    public func decodeError(status: Int, headers: HTTPHeaders, body: [UInt8]) -> GatewayError {
        let json = try? JSONValue.parse(body)
        return Self.error(from: json, status: status, headers: headers, rawBody: body)
    }

    /// Reads `{"error":{...}}`, `{"error":"text"}`, `{"message":...}` or plain text.
    static func error(from json: JSONValue?, status: Int, headers: HTTPHeaders, rawBody: [UInt8] = []) -> GatewayError {
        var message: String?
        var type: String?
        var code: String?
        var param: String?
        if let json {
            if let e = json["error"], case .object = e {
                message = e["message"]?.stringValue
                type = e["type"]?.stringValue
                code = e["code"]?.stringValue ?? e["code"]?.intValue.map(String.init)
                param = e["param"]?.stringValue
            } else if let text = json["error"]?.stringValue {
                message = text
            } else if let text = json["message"]?.stringValue {
                message = text
            } else if let text = json["detail"]?.stringValue {
                message = text
            }
        }
        if message == nil {
            let text = String(decoding: rawBody.prefix(2000), as: UTF8.self).trimmingWhitespace()
            message = text.isEmpty ? "The upstream answered HTTP \(status) with an empty body."
                : "The upstream answered HTTP \(status): \(text)"
        }
        return GatewayError(status: status, type: type ?? GatewayError.openAIType(forStatus: status), code: code,
                            param: param, message: message!, retryAfter: retryAfter(headers))
    }

    /// `retry-after-ms` (OpenAI) or `retry-after` in seconds.
    public static func retryAfter(_ headers: HTTPHeaders) -> Double? {
        if let ms = headers["retry-after-ms"].flatMap(Double.init), ms >= 0 { return ms / 1000 }
        if let s = headers["retry-after"].flatMap(Double.init), s >= 0 { return s }
        return nil
    }
}
