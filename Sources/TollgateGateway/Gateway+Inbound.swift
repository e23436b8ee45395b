#if canImport(Glibc)
import Glibc
#endif
import TollgateCore
import TollgateHTTP
import TollgateWire

/// The front doors besides Chat Completions: Anthropic's Messages (and its token counting) and
/// OpenAI's Responses. Each checks the body, translates it into the common request (used by
/// translating candidates, capability checks and estimates), plans the candidates and starts
/// the same exchange as chat; errors are answered in the client's own API.
extension Gateway {
    /// A request read far enough to route, by a validating scan: nothing is parsed or translated
    /// until a candidate of another family needs it (a same-family request goes through as it is).
    final class InboundRequest {
        let body: [UInt8]
        let scan: JSONScan
        let model: String
        let modelRange: Range<Int>
        let stream: Bool
        /// What the request needs of a model (tools, images, a JSON schema), found in its bytes.
        let needs: Set<Capability>
        let estimatedInputTokens: Int
        let maxOutputTokens: Int?
        let translate: (JSONValue) throws(GatewayError) -> AnthropicInbound.Translation
        /// The whole request, parsed on first use.
        lazy var json: JSONValue = (try? JSONValue.parse(body)) ?? .object(JSONObject())

        init(body: [UInt8], scan: JSONScan, model: String, modelRange: Range<Int>, stream: Bool, needs: Set<Capability>,
             estimatedInputTokens: Int, maxOutputTokens: Int?,
             translate: @escaping (JSONValue) throws(GatewayError) -> AnthropicInbound.Translation) {
            self.body = body
            self.scan = scan
            self.model = model
            self.modelRange = modelRange
            self.stream = stream
            self.needs = needs
            self.estimatedInputTokens = estimatedInputTokens
            self.maxOutputTokens = maxOutputTokens
            self.translate = translate
        }

        func member(_ key: String) -> JSONValue? {
            body.withUnsafeBytes { raw in
                scan.range(of: key, in: raw).flatMap { try? JSONValue.parse(UnsafeRawBufferPointer(rebasing: raw[$0])) }
            }
        }

        func range(_ key: String) -> Range<Int>? { body.withUnsafeBytes { scan.range(of: key, in: $0) } }

        /// The common (Chat Completions) form, for a translating candidate.
        func translated() throws(GatewayError) -> (input: ChatRequestInput, dropped: [String]) {
            let translation = try translate(json)
            let input = ChatRequestInput(json: translation.chat, rawBody: translation.chat.serialized(), model: model,
                                         stream: stream)
            return (input, translation.dropped)
        }
    }

    /// The members an inbound API keeps its conversation in: (messages or input, system or instructions, tools).
    struct InboundShape: Sendable {
        var conversation: String
        var system: String
        var outputCap: String
        var translate: @Sendable (JSONValue) throws(GatewayError) -> AnthropicInbound.Translation
        static let messages = InboundShape(conversation: "messages", system: "system", outputCap: "max_tokens",
                                           translate: AnthropicInbound.chatRequest)
        static let responses = InboundShape(conversation: "input", system: "instructions", outputCap: "max_output_tokens",
                                            translate: ResponsesInbound.chatRequest)
    }

    /// Scans an inbound body; nil when it answered an error.
    func readInbound(_ request: HTTPRequest, _ response: any ResponseWriter, shape: InboundShape,
                     renderError: (GatewayError) -> (headers: HTTPHeaders, body: [UInt8])) -> InboundRequest? {
        func fail(_ error: GatewayError, model: String? = nil) -> InboundRequest? {
            respondError(response, error, rendered: renderError(error), model: model)
            return nil
        }
        let scan: JSONScan
        do {
            scan = try JSONScan.scan(request.body)
        } catch {
            return fail(.invalidRequest("The request body is not valid JSON: \(error)."))
        }
        guard scan.isObject else { return fail(.invalidRequest("The request body must be a JSON object.")) }
        let body = request.body
        func member(_ key: String) -> JSONValue? {
            body.withUnsafeBytes { raw in
                scan.range(of: key, in: raw).flatMap { try? JSONValue.parse(UnsafeRawBufferPointer(rebasing: raw[$0])) }
            }
        }
        guard let model = member("model")?.stringValue, !model.isEmpty,
              let modelRange = body.withUnsafeBytes({ scan.range(of: "model", in: $0) }) else {
            return fail(.invalidRequest("The \"model\" field is required and must be a string.", param: "model"))
        }
        var stream = false
        if let value = member("stream"), !value.isNull {
            guard let flag = value.boolValue else { return fail(.invalidRequest("\"stream\" must be a boolean.", param: "stream"), model: model) }
            stream = flag
        }
        guard body.withUnsafeBytes({ scan.range(of: shape.conversation, in: $0) }) != nil else {
            return fail(.invalidRequest("The \"\(shape.conversation)\" field is required.", param: shape.conversation), model: model)
        }
        let (needs, tokens) = body.withUnsafeBytes { raw -> (Set<Capability>, Int) in
            var needs: Set<Capability> = []
            if let tools = scan.range(of: "tools", in: raw), tools.count > 2 { needs.insert(.tools) }
            if Self.contains(raw, "\"json_schema\"") { needs.insert(.json_schema) }
            if Self.contains(raw, "\"type\":\"image\"") || Self.contains(raw, "\"type\": \"image\"")
                || Self.contains(raw, "\"input_image\"") {
                needs.insert(.vision)
            }
            let tokens = TokenEstimator.inputTokens(raw: raw, parts: [scan.range(of: shape.conversation, in: raw),
                                                                    scan.range(of: shape.system, in: raw),
                                                                    scan.range(of: "tools", in: raw)])
            return (needs, tokens)
        }
        return InboundRequest(body: body, scan: scan, model: model, modelRange: modelRange, stream: stream, needs: needs,
                              estimatedInputTokens: tokens, maxOutputTokens: member(shape.outputCap)?.intValue,
                              translate: shape.translate)
    }

    /// The candidates for an inbound request, or nil when it answered an error.
    func planInbound(_ inbound: InboundRequest, _ request: HTTPRequest, _ response: any ResponseWriter,
                     renderError: (GatewayError) -> (headers: HTTPHeaders, body: [UInt8])) -> (GatewaySnapshot, [Candidate])? {
        let snapshot = self.snapshot
        let pinned = request.headers["x-tollgate-provider"].map { String($0.trimmingWhitespaceASCII()) }
        let clientKey = request.headers[Candidate.clientKeyHeader].map { String($0.trimmingWhitespaceASCII()) }
        switch snapshot.plan(model: inbound.model, pinned: pinned, needs: inbound.needs)
            .flatMap({ Candidate.applyingClientKey(clientKey, to: $0) }) {
        case .success(let list): return (snapshot, list)
        case .failure(let error):
            respondError(response, error, rendered: renderError(error), model: inbound.model)
            return nil
        }
    }

    /// POST /v1/messages.
    func startMessages(_ request: HTTPRequest, _ response: any ResponseWriter, client: ResolvedClient?) {
        let dialect = MessagesDialect()
        guard let inbound = readInbound(request, response, shape: .messages, renderError: dialect.renderError),
              let (snapshot, candidates) = planInbound(inbound, request, response, renderError: dialect.renderError) else { return }
        startInboundExchange(dialect, inbound, request, response, snapshot: snapshot, candidates: candidates, client: client)
    }

    /// POST /v1/responses. `previous_response_id` names state kept by an upstream: only a
    /// Responses upstream can take it, so the other candidates are left out (400 when none remain).
    func startResponses(_ request: HTTPRequest, _ response: any ResponseWriter, client: ResolvedClient?) {
        let render = GatewayError.openAIRendering
        guard let inbound = readInbound(request, response, shape: .responses, renderError: render),
              var (snapshot, candidates) = planInbound(inbound, request, response, renderError: render) else { return }
        if let previous = inbound.member("previous_response_id"), !previous.isNull {
            candidates = candidates.filter { $0.provider.chat.name == ResponsesDialect.native }
            guard !candidates.isEmpty else {
                return respondError(response, .invalidRequest(
                    "previous_response_id needs a provider that keeps responses (protocol openai_responses); no candidate for \"\(inbound.model)\" does. Send the whole conversation in input instead.",
                    param: "previous_response_id", code: "previous_response_not_supported"), model: inbound.model)
            }
        }
        snapshot = self.snapshot
        startInboundExchange(ResponsesDialect(request: inbound, createdAt: Int(wallClockSeconds())), inbound, request, response,
                             snapshot: snapshot, candidates: candidates, client: client)
    }

    private func startInboundExchange(_ dialect: any InboundDialect, _ inbound: InboundRequest, _ request: HTTPRequest,
                                      _ response: any ResponseWriter, snapshot: GatewaySnapshot, candidates: [Candidate],
                                      client: ResolvedClient?) {
        let adapter = InboundAdapter(dialect: dialect, inbound: inbound, gateway: self, clientHeaders: request.headers)
        Exchange(gateway: self, snapshot: snapshot, writer: response, adapter: adapter, candidates: candidates, client: client).start()
    }

    /// POST /v1/messages/count_tokens: exact from an Anthropic upstream when the model has one;
    /// otherwise estimated here and marked so (`x-tollgate-tokens-estimated: true`).
    func startCountTokens(_ request: HTTPRequest, _ response: any ResponseWriter, client: ResolvedClient?) {
        let render = MessagesDialect.renderError
        guard let inbound = readInbound(request, response, shape: .messages, renderError: render),
              let (snapshot, candidates) = planInbound(inbound, request, response, renderError: render) else { return }
        let native = candidates.filter { $0.provider.chat.name == "anthropic_messages" }
        guard !native.isEmpty else {
            var headers = HTTPHeaders()
            headers.add("Content-Type", "application/json")
            headers.add("x-tollgate-tokens-estimated", "true")
            response.respond(status: 200, headers: headers,
                             body: JSONValue.object(JSONObject([("input_tokens", .int(inbound.estimatedInputTokens))])).serialized())
            return logRequest(response, model: inbound.model, provider: nil, attempts: 0)
        }
        let adapter = CountTokensAdapter(rawBody: inbound.body, modelRange: inbound.modelRange, route: inbound.model,
                                         clientHeaders: request.headers)
        Exchange(gateway: self, snapshot: snapshot, writer: response, adapter: adapter, candidates: native, client: client).start()
    }

    func respondError(_ response: any ResponseWriter, _ error: GatewayError, rendered: (headers: HTTPHeaders, body: [UInt8]),
                      model: String?) {
        response.respond(status: error.status, headers: rendered.headers, body: rendered.body)
        logRequest(response, model: model, provider: nil, attempts: 0, error: error.message)
    }
}

extension Gateway {
    /// Whether `needle` occurs in `raw` (a byte search, no copy).
    static func contains(_ raw: UnsafeRawBufferPointer, _ needle: StaticString) -> Bool {
        let n = needle.utf8CodeUnitCount
        guard n > 0, raw.count >= n else { return false }
        let first = needle.utf8Start[0]
        var i = 0
        while i <= raw.count - n {
            if raw[i] == first {
                var j = 1
                while j < n, raw[i + j] == needle.utf8Start[j] { j += 1 }
                if j == n { return true }
            }
            i += 1
        }
        return false
    }
}

extension GatewayError {
    /// OpenAI's error shape, as an inbound rendering.
    static func openAIRendering(_ error: GatewayError) -> (headers: HTTPHeaders, body: [UInt8]) {
        (error.responseHeaders, error.body)
    }
}
