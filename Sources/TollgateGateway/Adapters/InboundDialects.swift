import TollgateCore
import TollgateHTTP
import TollgateLedger
import TollgateWire

/// Anthropic's Messages API (`POST /v1/messages`), native to `anthropic_messages` upstreams.
struct MessagesDialect: InboundDialect {
    var api: InboundAPI { .messages }
    var nativeProtocol: String { "anthropic_messages" }
    var nativePath: String { "/v1/messages" }

    /// The client's `anthropic-version` and `anthropic-beta` go upstream (betas change what the
    /// request may carry); the version defaults to the one tollgate speaks.
    func forwardedHeaders(_ client: HTTPHeaders) -> HTTPHeaders {
        Self.forwardedHeaders(client)
    }

    static func forwardedHeaders(_ client: HTTPHeaders) -> HTTPHeaders {
        var h = HTTPHeaders()
        h.set("anthropic-version", client["anthropic-version"].map { String($0) } ?? AnthropicMessages.apiVersion)
        if let beta = client["anthropic-beta"] { h.set("anthropic-beta", String(beta)) }
        return h
    }

    func makeRelay() -> any ChatStreamDecoder { SSEEventRelay(reader: AnthropicInbound.StreamReader()) }

    func usage(ofNativeAnswer body: [UInt8]) -> Usage? { AnthropicInbound.usage(ofMessage: body) }

    func makeRenderer(requestID: String, model: String, inputTokens: Int) -> any InboundStreamRenderer {
        AnthropicEventWriter(id: Self.messageID(requestID), model: model, estimatedInputTokens: inputTokens)
    }

    func answer(fromCompletion completion: JSONValue, requestID: String, model: String, usage: Usage?) -> JSONValue {
        AnthropicInbound.message(fromCompletion: completion, id: Self.messageID(requestID), model: model, usage: usage)
    }

    func renderError(_ error: GatewayError) -> (headers: HTTPHeaders, body: [UInt8]) {
        Self.renderError(error)
    }

    static func renderError(_ error: GatewayError) -> (headers: HTTPHeaders, body: [UInt8]) {
        (error.responseHeaders, AnthropicInbound.errorJSON(error).serialized())
    }

    static func messageID(_ requestID: String) -> String {
        "msg_" + (requestID.hasPrefix("req_") ? String(requestID.dropFirst(4)) : requestID)
    }
}

/// OpenAI's Responses API (`POST /v1/responses`), native to `openai_responses` upstreams.
struct ResponsesDialect: InboundDialect {
    /// The client's request, echoed in the `response` objects of translated answers (parsed then).
    let request: Gateway.InboundRequest
    let createdAt: Int
    static let native = "openai_responses"

    var api: InboundAPI { .responses }
    var nativeProtocol: String { Self.native }
    var nativePath: String { "/responses" }

    func forwardedHeaders(_ client: HTTPHeaders) -> HTTPHeaders { HTTPHeaders() }

    func makeRelay() -> any ChatStreamDecoder { SSEEventRelay(reader: ResponsesInbound.StreamReader()) }

    func usage(ofNativeAnswer body: [UInt8]) -> Usage? { ResponsesInbound.usage(ofResponse: body) }

    func echo(_ requestID: String, model: String) -> ResponsesInbound.Echo {
        ResponsesInbound.Echo(id: "resp_" + (requestID.hasPrefix("req_") ? String(requestID.dropFirst(4)) : requestID),
                              model: model, createdAt: createdAt, request: request.json)
    }

    func makeRenderer(requestID: String, model: String, inputTokens: Int) -> any InboundStreamRenderer {
        ResponsesEventWriter(echo: echo(requestID, model: model))
    }

    func answer(fromCompletion completion: JSONValue, requestID: String, model: String, usage: Usage?) -> JSONValue {
        let echo = echo(requestID, model: model)
        let reason = ResponsesInbound.incompleteReason(completion["choices"]?[0]?["finish_reason"]?.stringValue)
        return ResponsesInbound.response(echo, status: reason == nil ? "completed" : "incomplete",
                                         output: ResponsesInbound.outputItems(fromCompletion: completion, idBase: String(echo.id.dropFirst(5))),
                                         usage: usage ?? Usage(openAI: completion["usage"]), incompleteReason: reason)
    }

    func renderError(_ error: GatewayError) -> (headers: HTTPHeaders, body: [UInt8]) { GatewayError.openAIRendering(error) }
}
