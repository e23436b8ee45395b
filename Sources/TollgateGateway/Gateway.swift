import Dispatch
import Foundation
import Logging
import Synchronization
import TollgateCore
import TollgateHTTP
import TollgateLedger
import TollgateUpstream
import TollgateWire

/// The engine: routes each request, relays chat completions through the upstream clients
/// of the loop the request arrived on, and answers tollgate's own endpoints.
public final class Gateway: HTTPHandler, Sendable {
    private let state: Mutex<GatewaySnapshot>
    let logger: Logger
    let ledger: Ledger?
    public let health: ProviderHealth
    public let budgets: BudgetBook

    public init(snapshot: GatewaySnapshot, ledger: Ledger?, logger: Logger) {
        state = Mutex(snapshot)
        self.ledger = ledger
        self.logger = logger
        health = ProviderHealth(settings: snapshot.config.failover)
        budgets = BudgetBook(limits: Self.limits(snapshot))
        if let ledger {
            // Budgets continue from the ledger after a restart.
            let (day, month) = utcDayAndMonthStart(wallClockSeconds())
            if let totals = try? ledger.spendByProvider(dayStartMs: Int64(day * 1000), monthStartMs: Int64(month * 1000)) {
                for t in totals {
                    budgets.load(provider: t.provider, today: t.today, thisMonth: t.thisMonth, total: t.total)
                }
            }
        }
    }

    static func limits(_ snapshot: GatewaySnapshot) -> [String: Budget] {
        Dictionary(snapshot.config.providers.map { ($0.name, $0.budget) }, uniquingKeysWith: { a, _ in a })
    }

    public var snapshot: GatewaySnapshot { state.withLock { $0 } }

    /// New requests use `snapshot`; requests in flight finish on the one they started with.
    public func replace(_ snapshot: GatewaySnapshot) {
        health.update(settings: snapshot.config.failover)
        budgets.update(limits: Self.limits(snapshot))
        state.withLock { $0 = snapshot }
    }

    /// The upstream client of `loop`, created on first use. Called on the loop's queue.
    func upstream(for loop: EventLoop) -> UpstreamClient {
        if let client = loop.attachment as? UpstreamClient { return client }
        let client = UpstreamClient(queue: loop.queue)
        loop.attachment = client
        return client
    }

    public func handle(_ request: HTTPRequest, _ response: HTTPResponseWriter) {
        let path = request.path
        switch path {
        case "/v1/chat/completions", "/chat/completions":
            guard request.method == "POST" else { return methodNotAllowed(response, allow: "POST") }
            startChat(request, response)
        case "/v1/embeddings", "/embeddings":
            guard request.method == "POST" else { return methodNotAllowed(response, allow: "POST") }
            startEmbeddings(request, response)
        case "/health", "/healthz":
            guard request.method == "GET" || request.method == "HEAD" else { return methodNotAllowed(response, allow: "GET") }
            respondJSON(response, ["status": "ok"])
        case "/v1/models", "/models":
            guard request.method == "GET" || request.method == "HEAD" else { return methodNotAllowed(response, allow: "GET") }
            respondJSON(response, snapshot.modelsListJSON())
        case "/admin/providers":
            guard request.method == "GET" else { return methodNotAllowed(response, allow: "GET") }
            respondJSON(response, providersJSON())
        case "/admin/spend":
            guard request.method == "GET" else { return methodNotAllowed(response, allow: "GET") }
            respondSpend(response)
        default:
            if path.hasPrefix("/v1/models/"), request.method == "GET" {
                let id = String(path.dropFirst("/v1/models/".count))
                let list = snapshot.modelsListJSON()["data"]?.arrayValue ?? []
                if let model = list.first(where: { $0["id"]?.stringValue == id }) {
                    return respondJSON(response, model)
                }
                return respondError(response, .modelNotFound("The model \"\(id)\" does not exist here."))
            }
            respondError(response, .notFound("Unknown path \(request.method) \(path). tollgate serves POST /v1/chat/completions, GET /v1/models and GET /health.",
                                             code: "unknown_url"))
        }
    }

    private func methodNotAllowed(_ response: HTTPResponseWriter, allow: String) {
        var headers = HTTPHeaders()
        headers.add("Allow", allow)
        respondError(response, .methodNotAllowed("Method \(response.request.method) is not allowed on \(response.request.path); use \(allow)."),
                     headers: headers)
    }

    func respondJSON(_ response: HTTPResponseWriter, _ json: JSONValue, status: Int = 200) {
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        response.respond(status: status, headers: headers, body: json.serialized())
        logRequest(response, model: nil, provider: nil, attempts: 0)
    }

    func respondError(_ response: HTTPResponseWriter, _ error: GatewayError, headers: HTTPHeaders = HTTPHeaders(),
                      model: String? = nil) {
        response.respond(error: error, headers: headers)
        logRequest(response, model: model, provider: nil, attempts: 0, error: error.message)
    }

    // MARK: chat

    private func startChat(_ request: HTTPRequest, _ response: HTTPResponseWriter) {
        let json: JSONValue
        do {
            json = try JSONValue.parse(request.body)
        } catch {
            return respondError(response, .invalidRequest("The request body is not valid JSON: \(error)."))
        }
        guard case .object = json else {
            return respondError(response, .invalidRequest("The request body must be a JSON object."))
        }
        guard let model = json["model"]?.stringValue, !model.isEmpty else {
            return respondError(response, .invalidRequest("The \"model\" field is required and must be a string.", param: "model"))
        }
        guard let messages = json["messages"], case .array = messages else {
            return respondError(response, .invalidRequest("The \"messages\" field is required and must be an array.",
                                                          param: "messages"), model: model)
        }
        var stream = false
        if let value = json["stream"], !value.isNull {
            guard let flag = value.boolValue else {
                return respondError(response, .invalidRequest("\"stream\" must be a boolean.", param: "stream"), model: model)
            }
            stream = flag
        }
        let snapshot = self.snapshot
        let input = ChatRequestInput(json: json, rawBody: request.body, model: model, stream: stream)
        let pinned = request.headers["x-tollgate-provider"].map { String($0.trimmingWhitespaceASCII()) }
        let candidates: [Candidate]
        switch snapshot.plan(model: model, pinned: pinned, needs: input.neededCapabilities) {
        case .success(let list): candidates = list
        case .failure(let error): return respondError(response, error, model: model)
        }
        let relay = ChatRelay(gateway: self, snapshot: snapshot, response: response, client: upstream(for: response.loop),
                              input: input, candidates: candidates)
        relay.start()
    }

    private func startEmbeddings(_ request: HTTPRequest, _ response: HTTPResponseWriter) {
        let json: JSONValue
        do {
            json = try JSONValue.parse(request.body)
        } catch {
            return respondError(response, .invalidRequest("The request body is not valid JSON: \(error)."))
        }
        guard case .object = json, let model = json["model"]?.stringValue, !model.isEmpty else {
            return respondError(response, .invalidRequest("The \"model\" field is required and must be a string.", param: "model"))
        }
        var inputs: [String] = []
        switch json["input"] {
        case .string(let s)?: inputs = [s]
        case .array(let items)?:
            for item in items {
                guard let s = item.stringValue else {
                    return respondError(response, .invalidRequest("\"input\" must be a string or a list of strings (token arrays are not supported).",
                                                                  param: "input"), model: model)
                }
                inputs.append(s)
            }
        default:
            return respondError(response, .invalidRequest("The \"input\" field is required.", param: "input"), model: model)
        }
        guard !inputs.isEmpty else {
            return respondError(response, .invalidRequest("\"input\" must not be empty.", param: "input"), model: model)
        }
        let format = json["encoding_format"]?.stringValue ?? "float"
        guard format == "float" || format == "base64" else {
            return respondError(response, .invalidRequest("\"encoding_format\" must be \"float\" or \"base64\".",
                                                          param: "encoding_format"), model: model)
        }
        let input = EmbeddingRequestInput(json: json, rawBody: request.body, model: model, inputs: inputs,
                                          encodingFormat: format, dimensions: json["dimensions"]?.intValue)
        let snapshot = self.snapshot
        let pinned = request.headers["x-tollgate-provider"].map { String($0.trimmingWhitespaceASCII()) }
        switch snapshot.plan(model: model, pinned: pinned) {
        case .failure(let error):
            respondError(response, error, model: model)
        case .success(let candidates):
            EmbeddingRelay(gateway: self, response: response, client: upstream(for: response.loop), input: input,
                           candidates: candidates).start()
        }
    }

    // MARK: logging

    func logRequest(_ response: HTTPResponseWriter, model: String?, provider: String?, attempts: Int,
                    error: String? = nil, requestID: String? = nil, cost: Double? = nil) {
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - response.startedAt) / 1e6
        let status = response.isClientGone && !response.isFinished ? 499 : response.status
        var line = "\(response.request.method) \(response.request.path) model=\(model ?? "-") provider=\(provider ?? "-") status=\(status) duration=\(formatMs(elapsed))"
        if attempts > 1 { line += " attempts=\(attempts)" }
        if let cost, cost > 0 { line += " cost_usd=\(formatUSD(cost))" }
        if let error { line += " error=\"\(error.prefix(300).replacingOccurrences(of: "\"", with: "'"))\"" }
        var metadata: Logger.Metadata = ["status": "\(status)"]
        if let requestID { metadata["request_id"] = "\(requestID)" }
        if let provider { metadata["provider"] = "\(provider)" }
        if let model { metadata["model"] = "\(model)" }
        if let cost { metadata["cost_usd"] = "\(formatUSD(cost))" }
        logger.info("\(line)", metadata: metadata)
    }
}

func formatMs(_ ms: Double) -> String {
    let rounded = (ms * 100).rounded() / 100
    return "\(rounded)ms"
}
