import TollgateCore
import TollgateHTTP
import TollgateLedger
import TollgateWire

/// What an inbound API other than Chat Completions brings to `InboundAdapter`: the upstream
/// protocol that speaks it natively, and its own shapes for answers, streams and errors.
protocol InboundDialect {
    var api: InboundAPI { get }
    /// The chat protocol of upstreams that take the client's request as it is.
    var nativeProtocol: String { get }
    /// That protocol's path under the provider's base URL.
    var nativePath: String { get }
    /// Client headers forwarded to a native upstream (with a value when the client sent none).
    func forwardedHeaders(_ client: HTTPHeaders) -> HTTPHeaders
    /// A same-family stream relayed as it is, read for usage, its end and errors.
    func makeRelay() -> any ChatStreamDecoder
    /// The usage of a whole same-family answer.
    func usage(ofNativeAnswer body: [UInt8]) -> Usage?
    /// The stream renderer of one attempt.
    func makeRenderer(requestID: String, model: String, inputTokens: Int) -> any InboundStreamRenderer
    /// A translated whole answer.
    func answer(fromCompletion completion: JSONValue, requestID: String, model: String, usage: Usage?) -> JSONValue
    /// An error answered before any stream began.
    func renderError(_ error: GatewayError) -> (headers: HTTPHeaders, body: [UInt8])
}

/// An inbound API over the shared exchange. A candidate whose protocol is the API's own gets the
/// client's bytes with only the model id rewritten, and its answer's bytes are relayed as they
/// come (usage read on the way for the ledger); nothing is parsed for it. Any other candidate
/// gets the request translated (once, on the first such attempt) into the common one and carried
/// by a `ChatAdapter`, its answer rendered back in the client's API. Lives on the loop queue.
final class InboundAdapter: ExchangeAdapter {
    let dialect: any InboundDialect
    let inbound: Gateway.InboundRequest
    let gateway: Gateway
    let clientHeaders: HTTPHeaders
    /// The current attempt passes through (its candidate speaks the client's API).
    private var passing = false
    private var renderer: (any InboundStreamRenderer)?
    /// The translated attempt's answer in the common form, kept for replay and estimates.
    private var completion: ExchangeAnswer?
    private var requestID = "tollgate"
    /// The common form of the request, made for the first translating candidate.
    private var translation: Result<ChatAdapter, GatewayError>?

    init(dialect: any InboundDialect, inbound: Gateway.InboundRequest, gateway: Gateway, clientHeaders: HTTPHeaders) {
        self.dialect = dialect
        self.inbound = inbound
        self.gateway = gateway
        self.clientHeaders = clientHeaders
    }

    var api: InboundAPI { dialect.api }
    var route: String { inbound.model }
    var streamed: Bool { inbound.stream }
    var estimatedInputTokens: Int { inbound.estimatedInputTokens }

    /// Anthropic clients (Claude Code) send their sign-in as the bearer; other APIs' bearers are not upstream credentials.
    var clientBearer: String? { dialect.api == .messages ? bearerToken(clientHeaders) : nil }

    func isNative(_ c: Candidate) -> Bool { c.provider.chat.name == dialect.nativeProtocol }

    /// The translating adapter (the translation made on first use; a request it cannot express is the client's error).
    private func chat() throws(GatewayError) -> ChatAdapter {
        if translation == nil {
            do {
                let (input, dropped) = try inbound.translated()
                if !dropped.isEmpty {
                    gateway.logger.warning("\(api.rawValue) request: \(dropped.joined(separator: ", ")) cannot be carried to other API families and is dropped when translating",
                                           metadata: ["request_id": "\(requestID)"])
                }
                translation = .success(ChatAdapter(input: input, gateway: gateway))
            } catch {
                translation = .failure(error)
            }
        }
        return try translation!.get()
    }

    /// Estimated input plus the output cap at the model's prices, from the client's bytes.
    func worstCaseCost(_ c: Candidate) -> Double {
        guard c.info.priced, !c.info.isFree else { return 0 }
        let output = inbound.maxOutputTokens ?? c.info.maxOutputTokens ?? 4096
        return c.info.cost(Usage(promptTokens: inbound.estimatedInputTokens, completionTokens: output))
    }

    func request(for c: Candidate, requestID: String) throws(GatewayError) -> UpstreamRequest {
        passing = isNative(c)
        completion = nil
        self.requestID = requestID
        renderer = dialect.makeRenderer(requestID: requestID, model: route, inputTokens: inbound.estimatedInputTokens)
        guard passing else { return try chat().request(for: c, requestID: requestID) }
        renderer?.markStarted()
        return Self.passThroughRequest(inbound.body, modelRange: inbound.modelRange, route: route, candidate: c,
                                       path: dialect.nativePath, headers: dialect.forwardedHeaders(clientHeaders), stream: streamed)
    }

    /// The client's bytes to a same-family upstream: the model id rewritten in place when the
    /// route names another one, everything else as sent.
    static func passThroughRequest(_ raw: [UInt8], modelRange: Range<Int>, route: String, candidate c: Candidate, path: String,
                                   headers forwarded: HTTPHeaders, stream: Bool) -> UpstreamRequest {
        let body = c.model == route ? raw : OpenAIChat.passThrough(raw, modelRange: modelRange, model: c.model, addUsage: false)
        var headers = forwarded
        headers.set("Content-Type", "application/json")
        headers.set("Accept", stream ? "text/event-stream" : "application/json")
        var request = UpstreamRequest(url: c.provider.url(path: path), headers: headers, body: body)
        c.provider.finish(&request)
        return request
    }

    func failure(for c: Candidate, status: Int, headers: HTTPHeaders, body: [UInt8]) -> UpstreamFailure {
        c.provider.chatFailure(status: status, headers: headers, body: body)
    }

    func streamDecoder(for c: Candidate, headers: HTTPHeaders) -> (any ChatStreamDecoder)? {
        guard passing else { return (try? chat())?.streamDecoder(for: c, headers: headers) }
        if let type = headers["Content-Type"]?.lowercased(), type.contains("json"), !type.contains("stream") { return nil }
        return dialect.makeRelay()
    }

    func answer(for c: Candidate, status: Int, headers: HTTPHeaders, body: [UInt8]) throws(UpstreamFailure) -> ExchangeAnswer {
        if passing {
            guard (try? JSONScan.scan(body))?.isObject == true else { throw .badResponse("The upstream answer is not a JSON object.") }
            if streamed { throw .badResponse("The upstream answered a streamed request with a whole answer.") }
            return ExchangeAnswer(body: body, usage: dialect.usage(ofNativeAnswer: body))
        }
        guard let chat = try? chat() else { throw .badResponse("The request has no common form.") }
        let common = try chat.answer(for: c, status: status, headers: headers, body: body)
        completion = common
        guard let json = try? JSONValue.parse(common.body) else { throw .badResponse("The upstream answer is not JSON.") }
        let rendered = dialect.answer(fromCompletion: json, requestID: requestID, model: route, usage: common.usage)
        return ExchangeAnswer(body: rendered.serialized(), usage: common.usage, estimated: common.estimated)
    }

    func replay(_ answer: ExchangeAnswer) throws(UpstreamFailure) -> [StreamOutput] {
        guard let chat = try? chat() else { throw .badResponse("The request has no common form.") }
        return try chat.replay(completion ?? answer)
    }

    func estimatedUsage(streamedTextBytes: Int, answer: ExchangeAnswer?) -> Usage {
        if !passing, let chat = try? chat() { return chat.estimatedUsage(streamedTextBytes: streamedTextBytes, answer: completion) }
        let bytes = answer.map { $0.body.count / 2 } ?? streamedTextBytes
        return Usage(promptTokens: inbound.estimatedInputTokens, completionTokens: TokenEstimator.tokens(forTextBytes: bytes))
    }

    func textBytes(ofChunk chunk: String) -> Int { (try? chat())?.textBytes(ofChunk: chunk) ?? 0 }

    func render(chunk: String) -> [UInt8] { renderer?.events(forChunk: chunk) ?? [] }

    func renderStreamEnd(usage: Usage?) -> [UInt8] {
        passing ? [] : renderer?.end(usage: usage) ?? []
    }

    func renderStreamError(_ error: GatewayError) -> [UInt8] { renderer?.fail(error) ?? [] }

    func renderError(_ error: GatewayError) -> (headers: HTTPHeaders, body: [UInt8]) { dialect.renderError(error) }
}
