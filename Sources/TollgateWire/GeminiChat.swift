import TollgateCore

/// `google_gemini`: the Gemini API (AI Studio) `generateContent` and `streamGenerateContent`.
/// Requests are translated in `GeminiChat+Request.swift`, answers in `GeminiChat+Response.swift`
/// and streams in `GeminiChat+Stream.swift`.
/// Reference: https://ai.google.dev/api/generate-content (wire-formats.md §4).
///
/// Choices worth knowing:
/// - Tool-call ids are `call_{requestID}_{n}` (Gemini gives none); a tool result finds its
///   function name through the assistant message that made the call, in the same request.
/// - A call's thought signature travels as `tool_calls[].extra_content.google.thought_signature`,
///   the field Google's own OpenAI-compatible endpoint uses; a replayed call without one is sent
///   with Google's documented skip sentinel on Gemini 3 and later.
/// - No `max_tokens` from the client means no `maxOutputTokens`: Gemini then allows the model's maximum.
public struct GeminiChat: ChatProtocol {
    public let name = "google_gemini"
    public init() {}

    /// What this protocol translates; `user`, `parallel_tool_calls`, `logprobs`, `logit_bias`,
    /// `reasoning_effort` and the rest have no Gemini equivalent here and are dropped by the gateway.
    public let acceptedParameters: Set<String>? = [
        "model", "messages", "stream", "stream_options", "temperature", "top_p", "n", "stop", "max_tokens",
        "max_completion_tokens", "presence_penalty", "frequency_penalty", "seed", "tools", "tool_choice",
        "response_format",
    ]

    // MARK: request

    public func encode(_ request: ChatRequestInput, context: ChatContext) throws(GatewayError) -> UpstreamRequest {
        var encoder = RequestEncoder(model: context.upstreamModel)
        let body = try encoder.body(for: request.json)
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        let url: String
        if context.stream {
            headers.add("Accept", "text/event-stream")
            url = context.provider.url(path: Gemini.path(model: context.upstreamModel, method: "streamGenerateContent"),
                                       extraQuery: "alt=sse")
        } else {
            headers.add("Accept", "application/json")
            url = context.provider.url(path: Gemini.path(model: context.upstreamModel, method: "generateContent"))
        }
        return UpstreamRequest(url: url, headers: headers, body: body.serialized())
    }

    // MARK: response

    public func decodeResponse(status: Int, headers: HTTPHeaders, body: [UInt8],
                               context: ChatContext) throws(GatewayError) -> ChatResult {
        guard let json = try? JSONValue.parse(body), case .object = json else {
            throw GatewayError.badGateway("The upstream answered HTTP \(status) with a body that is not a JSON object.",
                                          code: "invalid_upstream_response")
        }
        if let error = Gemini.errorObject(json) {
            throw Gemini.error(error, status: status >= 400 ? status : 502, headers: headers)
        }
        var translator = ResponseTranslator(context: context)
        return ChatResult(body: translator.completion(json).serialized(), usage: Gemini.usage(json["usageMetadata"]))
    }

    // MARK: stream

    public func makeStreamDecoder(context: ChatContext) -> any ChatStreamDecoder {
        StreamDecoder(context: context)
    }

    // MARK: errors

    public func decodeError(status: Int, headers: HTTPHeaders, body: [UInt8]) -> GatewayError {
        Gemini.error(status: status, headers: headers, body: body)
    }
}
