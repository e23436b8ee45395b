import Dispatch
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
    /// Spend of each client against its budget (`clients` in the config).
    public let clientBudgets: BudgetBook
    /// Requests and tokens per minute of each client.
    public let rates = RateLimiter()
    /// Metrics (`/metrics`) and traces (`otel`).
    public let observer: Observer

    public init(snapshot: GatewaySnapshot, ledger: Ledger?, logger: Logger) {
        state = Mutex(snapshot)
        self.ledger = ledger
        self.logger = logger
        health = ProviderHealth(settings: snapshot.config.failover)
        budgets = BudgetBook(limits: Self.limits(snapshot))
        clientBudgets = BudgetBook(limits: Self.clientLimits(snapshot), owner: "client")
        observer = Observer(otel: snapshot.config.otel)
        if let ledger {
            // Budgets continue from the ledger after a restart.
            let (day, month) = utcDayAndMonthStart(wallClockSeconds())
            if let totals = try? ledger.spendByProvider(dayStartMs: Int64(day * 1000), monthStartMs: Int64(month * 1000)) {
                for t in totals {
                    budgets.load(provider: t.provider, today: t.today, thisMonth: t.thisMonth, total: t.total)
                }
            }
            if let totals = try? ledger.spendByClient(dayStartMs: Int64(day * 1000), monthStartMs: Int64(month * 1000)) {
                for t in totals {
                    clientBudgets.load(provider: t.provider, today: t.today, thisMonth: t.thisMonth, total: t.total)
                }
            }
        }
    }

    static func limits(_ snapshot: GatewaySnapshot) -> [String: Budget] {
        Dictionary(snapshot.config.providers.map { ($0.name, $0.budget) }, uniquingKeysWith: { a, _ in a })
    }

    static func clientLimits(_ snapshot: GatewaySnapshot) -> [String: Budget] {
        Dictionary(snapshot.clients.clients.map { ($0.name, $0.budget) }, uniquingKeysWith: { a, _ in a })
    }

    public var snapshot: GatewaySnapshot { state.withLock { $0 } }

    /// New requests use `snapshot`; requests in flight finish on the one they started with.
    public func replace(_ snapshot: GatewaySnapshot) {
        health.update(settings: snapshot.config.failover)
        budgets.update(limits: Self.limits(snapshot))
        clientBudgets.update(limits: Self.clientLimits(snapshot))
        state.withLock { $0 = snapshot }
    }

    /// The upstream client and ledger batch of `loop`, created on first use. Called on the loop's queue.
    func services(for loop: EventLoop) -> LoopServices {
        if let services = loop.attachment as? LoopServices { return services }
        let logger = self.logger
        let services = LoopServices(loop: loop, ledger: ledger, logger: { logger.error("\($0)") })
        loop.attachment = services
        observer.register(services.metrics, queue: loop.queue)
        return services
    }

    public func handle(_ request: HTTPRequest, _ writer: any ResponseWriter) {
        let snapshot = self.snapshot
        let path = request.path
        // Host, origin and admin checks come before routing (Gateway+Access.swift).
        guard let response = admit(request, writer, path: path, snapshot: snapshot) else { return }
        // Requests for a model come from a client: known by key or local identity when clients are configured.
        var client: ResolvedClient?
        if !snapshot.clients.isEmpty, request.method == "POST", Self.modelPaths.contains(path) {
            guard let known = snapshot.clients.identify(request, peer: { response.peerIdentity(needPID: $0) }) else {
                let error = GatewayError(status: 401, type: "authentication_error", code: "unknown_client",
                                         message: "No client matches this request: send a client key (Authorization: Bearer KEY or x-api-key), or call as a local user or unit the configuration names.")
                return respondError(response, error, rendered: Self.errorRendering(path: path)(error), model: nil)
            }
            client = known
        }
        switch path {
        case "/v1/chat/completions", "/chat/completions":
            guard request.method == "POST" else { return methodNotAllowed(response, allow: "POST") }
            startChat(request, response, client: client)
        case "/v1/messages", "/messages":
            guard request.method == "POST" else { return methodNotAllowed(response, allow: "POST") }
            startMessages(request, response, client: client)
        case "/v1/messages/count_tokens", "/messages/count_tokens":
            guard request.method == "POST" else { return methodNotAllowed(response, allow: "POST") }
            startCountTokens(request, response, client: client)
        case "/v1/responses", "/responses":
            guard request.method == "POST" else { return methodNotAllowed(response, allow: "POST") }
            startResponses(request, response, client: client)
        case "/v1/embeddings", "/embeddings":
            guard request.method == "POST" else { return methodNotAllowed(response, allow: "POST") }
            startEmbeddings(request, response, client: client)
        case "/health", "/healthz":
            guard request.method == "GET" || request.method == "HEAD" else { return methodNotAllowed(response, allow: "GET") }
            respondJSON(response, ["status": "ok"])
        case "/v1/models", "/models":
            guard request.method == "GET" || request.method == "HEAD" else { return methodNotAllowed(response, allow: "GET") }
            // Anthropic's SDK (and Claude Code) list models in their own shape.
            let anthropic = request.headers["anthropic-version"] != nil
            respondJSON(response, anthropic ? Self.anthropicModelList(snapshot.modelsListJSON()) : snapshot.modelsListJSON())
        case "/admin/providers":
            guard request.method == "GET" else { return methodNotAllowed(response, allow: "GET") }
            respondJSON(response, providersJSON())
        case "/admin/spend":
            guard request.method == "GET" else { return methodNotAllowed(response, allow: "GET") }
            respondSpend(response)
        default:
            if handleObserve(request, response, path: path) { return }
            if path.hasPrefix("/v1/models/"), request.method == "GET" {
                let id = String(path.dropFirst("/v1/models/".count))
                let list = snapshot.modelsListJSON()["data"]?.arrayValue ?? []
                if let model = list.first(where: { $0["id"]?.stringValue == id }) {
                    guard request.headers["anthropic-version"] != nil else { return respondJSON(response, model) }
                    return respondJSON(response, Self.anthropicModelList(["data": [model]])["data"]?[0] ?? model)
                }
                return respondError(response, .modelNotFound("The model \"\(id)\" does not exist here."))
            }
            respondError(response, .notFound("Unknown path \(request.method) \(path). tollgate serves "
                                                 + Self.endpoints.joined(separator: ", ") + ".", code: "unknown_url"))
        }
    }

    /// The paths that ask a model for something (and so are a client's, and cost).
    static let modelPaths: Set<Substring> = [
        "/v1/chat/completions", "/chat/completions", "/v1/messages", "/messages", "/v1/messages/count_tokens",
        "/messages/count_tokens", "/v1/responses", "/responses", "/v1/embeddings", "/embeddings",
    ]

    /// How errors are shaped on `path`: Anthropic's on the Messages paths, OpenAI's elsewhere.
    static func errorRendering(path: Substring) -> (GatewayError) -> (headers: HTTPHeaders, body: [UInt8]) {
        path.hasPrefix("/v1/messages") || path.hasPrefix("/messages") ? MessagesDialect.renderError
            : { ($0.responseHeaders, $0.body) }
    }

    /// Every endpoint tollgate serves, for the 404 of an unknown path.
    static let endpoints = [
        "POST /v1/chat/completions", "POST /v1/messages", "POST /v1/messages/count_tokens", "POST /v1/responses",
        "POST /v1/embeddings", "GET /v1/models", "GET /v1/models/{id}", "GET /health",
        "GET /admin/providers", "GET /admin/spend",
    ] + observeEndpoints

    /// An OpenAI model list in Anthropic's shape (`type`, `display_name`, `created_at`, paging fields).
    static func anthropicModelList(_ list: JSONValue) -> JSONValue {
        let models = (list["data"]?.arrayValue ?? []).map { model -> JSONValue in
            let id = model["id"] ?? ""
            return ["type": "model", "id": id, "display_name": id, "created_at": "1970-01-01T00:00:00Z"]
        }
        return ["data": .array(models), "has_more": false, "first_id": models.first?["id"] ?? .null,
                "last_id": models.last?["id"] ?? .null]
    }

    private func methodNotAllowed(_ response: any ResponseWriter, allow: String) {
        var headers = HTTPHeaders()
        headers.add("Allow", allow)
        respondError(response, .methodNotAllowed("Method \(response.request.method) is not allowed on \(response.request.path); use \(allow)."),
                     headers: headers)
    }

    func respondJSON(_ response: any ResponseWriter, _ json: JSONValue, status: Int = 200) {
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        response.respond(status: status, headers: headers, body: json.serialized())
        logRequest(response, model: nil, provider: nil, attempts: 0)
    }

    func respondError(_ response: any ResponseWriter, _ error: GatewayError, headers: HTTPHeaders = HTTPHeaders(),
                      model: String? = nil) {
        response.respond(error: error, headers: headers)
        logRequest(response, model: model, provider: nil, attempts: 0, error: error.message)
    }

    // MARK: logging

    func logRequest(_ response: any ResponseWriter, model: String?, provider: String?, attempts: Int,
                    error: String? = nil, requestID: String? = nil, cost: Double? = nil) {
        let status = response.isClientGone && !response.isFinished ? 499 : response.status
        if requestID == nil { requestAnswered(response, status: status) }
        // The line and its metadata are built only when `logger.info` would write them.
        guard logger.logLevel <= .info else { return }
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - response.startedAt) / 1e6
        var line = "\(response.request.method) \(response.request.path) model=\(model ?? "-") provider=\(provider ?? "-") status=\(status) duration=\(formatMs(elapsed))"
        if attempts > 1 { line += " attempts=\(attempts)" }
        if let cost, cost > 0 { line += " cost_usd=\(formatUSD(cost))" }
        if let error { line += " error=\"\(String(error.prefix(300)).replacing("\"", with: "'"))\"" }
        var metadata: Logger.Metadata = ["status": "\(status)"]
        if let requestID { metadata["request_id"] = "\(requestID)" }
        if let provider { metadata["provider"] = "\(provider)" }
        if let model { metadata["model"] = "\(model)" }
        if let cost { metadata["cost_usd"] = "\(formatUSD(cost))" }
        logger.info("\(line)", metadata: metadata)
    }
}
