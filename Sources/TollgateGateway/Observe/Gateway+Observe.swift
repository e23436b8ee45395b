import Dispatch
import TollgateCore
import TollgateHTTP
import TollgateLedger

extension Gateway {
    /// An exchange ended (its rows committed, its answer sent or refused): counted on its loop,
    /// and queued for tracing when `otel` is configured. On the loop's queue.
    func exchangeEnded(_ writer: any ResponseWriter, snapshot: GatewaySnapshot, route: String, status: Int,
                       attempts: AttemptLedger) {
        let services = services(for: writer.loop)
        let now = DispatchTime.now().uptimeNanoseconds
        let wallNow = UInt64(max(0, wallClockMilliseconds()) * 1e6)
        let record = ExchangeRecord(
            api: attempts.api.rawValue, route: route, requestID: attempts.requestID, method: writer.request.method,
            path: observer.exporter == nil ? "" : String(writer.request.path), status: status, streamed: attempts.streamed, startedAt: writer.startedAt, endedAt: now,
            startedWallNs: wallNow &- (now &- writer.startedAt), rows: attempts.booked, failures: attempts.failures,
            traceparent: observer.exporter == nil ? nil : writer.request.headers["traceparent"],
            snapshot: observer.exporter == nil ? nil : snapshot)
        observer.exchangeEnded(record, metrics: services.metrics, loop: writer.loop)
    }

    /// A request answered without an exchange (tollgate's own endpoints, refusals before routing).
    func requestAnswered(_ response: any ResponseWriter, status: Int) {
        let seconds = Double(DispatchTime.now().uptimeNanoseconds &- response.startedAt) / 1e9
        services(for: response.loop).metrics.recordAnswered(api: APILabel.name(path: response.request.path),
                                                            status: status, seconds: seconds)
    }

    /// GET /metrics: every loop's counters added up, plus what is sampled now (provider
    /// health, budgets, connections), in the Prometheus text format.
    func respondMetrics(_ response: any ResponseWriter) {
        let box = LoopBound((self, response))
        observer.gather(on: response.loop.queue) { values in
            let (gateway, response) = box.value
            let text = gateway.metricsText(values)
            var headers = HTTPHeaders()
            headers.add("Content-Type", PrometheusText.contentType)
            response.loop.batch {
                response.respond(status: 200, headers: headers, body: Array(text.utf8))
                gateway.logRequest(response, model: nil, provider: nil, attempts: 0)
            }
        }
    }
}

extension Gateway {
    /// Endpoints of metrics and the dashboard, for the 404 of an unknown path.
    static let observeEndpoints = [
        "GET /metrics", "GET /dashboard", "GET /admin/requests", "GET /admin/spend/daily", "GET /admin/budgets",
    ]

    /// Answers `/metrics`, the dashboard and its admin reads; false for any other path
    /// (`path`: `request.path`).
    func handleObserve(_ request: HTTPRequest, _ response: any ResponseWriter, path: Substring) -> Bool {
        let get = request.method == "GET" || request.method == "HEAD"
        switch path {
        case "/metrics":
            guard get else { return refuseMethod(response) }
            respondMetrics(response)
        case "/dashboard", "/dashboard/":
            guard get else { return refuseMethod(response) }
            respondDashboard(response)
        case "/admin/requests":
            guard get else { return refuseMethod(response) }
            respondRecentRequests(response)
        case "/admin/spend/daily":
            guard get else { return refuseMethod(response) }
            respondDailySpend(response)
        case "/admin/budgets":
            guard get else { return refuseMethod(response) }
            respondJSON(response, budgetsJSON())
        default:
            return false
        }
        return true
    }

    private func refuseMethod(_ response: any ResponseWriter) -> Bool {
        var headers = HTTPHeaders()
        headers.add("Allow", "GET")
        respondError(response, .methodNotAllowed("Method \(response.request.method) is not allowed on \(response.request.path); use GET."),
                     headers: headers)
        return true
    }
}
