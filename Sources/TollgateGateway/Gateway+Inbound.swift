import TollgateCore
import TollgateHTTP
import TollgateWire

/// The front doors besides Chat Completions: Anthropic's Messages (and its token counting) and
/// OpenAI's Responses. Each checks the body, translates it into the common request (used by
/// translating candidates, capability checks and estimates), plans the candidates and starts
/// the same exchange as chat; errors are answered in the client's own API.
extension Gateway {
    /// A request read far enough to route: its bytes, JSON, model and where the model lies.
    struct InboundRequest {
        var json: JSONValue
        var model: String
        var modelRange: Range<Int>
        var stream: Bool
        var input: ChatRequestInput
        var dropped: [String]
    }

    /// Scans, parses and translates an inbound body; nil when it answered an error.
    func readInbound(_ request: HTTPRequest, _ response: any ResponseWriter,
                     translate: (JSONValue) throws(GatewayError) -> AnthropicInbound.Translation,
                     renderError: (GatewayError) -> (headers: HTTPHeaders, body: [UInt8])) -> InboundRequest? {
        func fail(_ error: GatewayError, model: String? = nil) -> InboundRequest? {
            respondError(response, error, rendered: renderError(error), model: model)
            return nil
        }
        let scan: JSONScan
        let json: JSONValue
        do {
            scan = try JSONScan.scan(request.body)
            json = try JSONValue.parse(request.body)
        } catch {
            return fail(.invalidRequest("The request body is not valid JSON: \(error)."))
        }
        guard scan.isObject else { return fail(.invalidRequest("The request body must be a JSON object.")) }
        guard let model = json["model"]?.stringValue, !model.isEmpty,
              let modelRange = request.body.withUnsafeBytes({ scan.range(of: "model", in: $0) }) else {
            return fail(.invalidRequest("The \"model\" field is required and must be a string.", param: "model"))
        }
        let translation: AnthropicInbound.Translation
        do {
            translation = try translate(json)
        } catch {
            return fail(error, model: model)
        }
        let stream = translation.chat["stream"]?.boolValue ?? false
        let common = translation.chat.serialized()
        let input = ChatRequestInput(json: translation.chat, rawBody: common, model: model, stream: stream)
        return InboundRequest(json: json, model: model, modelRange: modelRange, stream: stream, input: input,
                              dropped: translation.dropped)
    }

    /// The candidates for an inbound request, or nil when it answered an error.
    func planInbound(_ inbound: InboundRequest, _ request: HTTPRequest, _ response: any ResponseWriter,
                     renderError: (GatewayError) -> (headers: HTTPHeaders, body: [UInt8])) -> (GatewaySnapshot, [Candidate])? {
        let snapshot = self.snapshot
        let pinned = request.headers["x-tollgate-provider"].map { String($0.trimmingWhitespaceASCII()) }
        switch snapshot.plan(model: inbound.model, pinned: pinned, needs: inbound.input.neededCapabilities) {
        case .success(let list): return (snapshot, list)
        case .failure(let error):
            respondError(response, error, rendered: renderError(error), model: inbound.model)
            return nil
        }
    }

    /// POST /v1/messages.
    func startMessages(_ request: HTTPRequest, _ response: any ResponseWriter, client: ResolvedClient?) {
        let dialect = MessagesDialect()
        guard let inbound = readInbound(request, response, translate: AnthropicInbound.chatRequest, renderError: dialect.renderError),
              let (snapshot, candidates) = planInbound(inbound, request, response, renderError: dialect.renderError) else { return }
        startInboundExchange(dialect, inbound, request, response, snapshot: snapshot, candidates: candidates, client: client)
    }

    /// POST /v1/responses. `previous_response_id` names state kept by an upstream: only a
    /// Responses upstream can take it, so the other candidates are left out (400 when none remain).
    func startResponses(_ request: HTTPRequest, _ response: any ResponseWriter, client: ResolvedClient?) {
        let dialect = ResponsesDialect(request: .null, createdAt: Int(wallClockSeconds()))
        guard let inbound = readInbound(request, response, translate: ResponsesInbound.chatRequest, renderError: dialect.renderError),
              var (snapshot, candidates) = planInbound(inbound, request, response, renderError: dialect.renderError) else { return }
        if let previous = inbound.json["previous_response_id"], !previous.isNull {
            candidates = candidates.filter { $0.provider.chat.name == dialect.nativeProtocol }
            guard !candidates.isEmpty else {
                return respondError(response, .invalidRequest(
                    "previous_response_id needs a provider that keeps responses (protocol openai_responses); no candidate for \"\(inbound.model)\" does. Send the whole conversation in input instead.",
                    param: "previous_response_id", code: "previous_response_not_supported"), model: inbound.model)
            }
        }
        snapshot = self.snapshot
        startInboundExchange(ResponsesDialect(request: inbound.json, createdAt: dialect.createdAt), inbound, request, response,
                             snapshot: snapshot, candidates: candidates, client: client)
    }

    private func startInboundExchange(_ dialect: any InboundDialect, _ inbound: InboundRequest, _ request: HTTPRequest,
                                      _ response: any ResponseWriter, snapshot: GatewaySnapshot, candidates: [Candidate],
                                      client: ResolvedClient?) {
        if !inbound.dropped.isEmpty, candidates.contains(where: { $0.provider.chat.name != dialect.nativeProtocol }) {
            logger.warning("\(dialect.api.rawValue) request: \(inbound.dropped.joined(separator: ", ")) cannot be carried to other API families and is dropped when translating")
        }
        let adapter = InboundAdapter(dialect: dialect, chat: ChatAdapter(input: inbound.input, gateway: self), rawBody: request.body,
                                     modelRange: inbound.modelRange, clientHeaders: request.headers)
        Exchange(gateway: self, snapshot: snapshot, writer: response, adapter: adapter, candidates: candidates, client: client).start()
    }

    /// POST /v1/messages/count_tokens: exact from an Anthropic upstream when the model has one;
    /// otherwise estimated here and marked so (`x-tollgate-tokens-estimated: true`).
    func startCountTokens(_ request: HTTPRequest, _ response: any ResponseWriter, client: ResolvedClient?) {
        let render = MessagesDialect.renderError
        guard let inbound = readInbound(request, response, translate: AnthropicInbound.chatRequest, renderError: render),
              let (snapshot, candidates) = planInbound(inbound, request, response, renderError: render) else { return }
        let native = candidates.filter { $0.provider.chat.name == "anthropic_messages" }
        guard !native.isEmpty else {
            var headers = HTTPHeaders()
            headers.add("Content-Type", "application/json")
            headers.add("x-tollgate-tokens-estimated", "true")
            response.respond(status: 200, headers: headers,
                             body: JSONValue.object(JSONObject([("input_tokens", .int(inbound.input.estimatedInputTokens))])).serialized())
            return logRequest(response, model: inbound.model, provider: nil, attempts: 0)
        }
        let adapter = CountTokensAdapter(rawBody: request.body, modelRange: inbound.modelRange, route: inbound.model,
                                         clientHeaders: request.headers)
        Exchange(gateway: self, snapshot: snapshot, writer: response, adapter: adapter, candidates: native, client: client).start()
    }

    func respondError(_ response: any ResponseWriter, _ error: GatewayError, rendered: (headers: HTTPHeaders, body: [UInt8]),
                      model: String?) {
        response.respond(status: error.status, headers: rendered.headers, body: rendered.body)
        logRequest(response, model: model, provider: nil, attempts: 0, error: error.message)
    }
}
