import Dispatch
import TollgateCore
import TollgateHTTP
import TollgateLedger
import TollgateUpstream
import TollgateWire

/// POST /v1/embeddings: the same candidate walk as chat (breakers, budgets, failover before
/// any byte reaches the client), with the answer re-encoded as the client asked (`float` or
/// `base64`). Lives on the loop queue of the client's connection.
final class EmbeddingRelay: UpstreamTransferDelegate {
    let gateway: Gateway
    let response: HTTPResponseWriter
    let client: UpstreamClient
    let input: EmbeddingRequestInput
    let candidates: [Candidate]
    let requestID = makeRequestID()
    private var index = 0
    private var attempts = 0
    private var current: Candidate?
    private var transfer: UpstreamTransfer?
    private var wasProbe = false
    private var reservation: BudgetBook.Reservation?
    private var status = 0
    private var headers = HTTPHeaders()
    private var body: [UInt8] = []
    private var startedAt: UInt64 = 0
    private var failures: [(String, GatewayError)] = []
    private var rows: [LedgerRow] = []
    private var finished = false

    init(gateway: Gateway, response: HTTPResponseWriter, client: UpstreamClient, input: EmbeddingRequestInput,
         candidates: [Candidate]) {
        self.gateway = gateway
        self.response = response
        self.client = client
        self.input = input
        self.candidates = candidates
    }

    func start() {
        response.onClientGone = { [self] in
            finished = true
            transfer?.cancel()
            transfer = nil
            release(.abandoned, cost: 0)
        }
        tryNext()
    }

    private func tryNext() {
        while index < candidates.count, !finished {
            let c = candidates[index]
            index += 1
            guard let embed = c.provider.embed else { continue }
            let admission = gateway.health.admit(c.provider.name)
            if case .coolingDown = admission { continue }
            let estimate = Usage(promptTokens: input.inputs.reduce(0) { $0 + TokenEstimator.tokens(forTextBytes: $1.utf8.count) })
            switch gateway.budgets.reserve(provider: c.provider.name, amount: c.info.priced ? c.info.cost(estimate) : 0) {
            case .failure(let refusal):
                gateway.health.report(c.provider.name, .abandoned, wasProbe: admission == .probe)
                failures.append((c.provider.name, GatewayError(status: 429, type: "budget_exceeded", code: "budget_exceeded",
                                                                message: "over budget: \(refusal)")))
                continue
            case .success(let r):
                reservation = r
            }
            wasProbe = admission == .probe
            current = c
            attempts += 1
            var request: UpstreamRequest
            do {
                request = try embed.encode(input, upstreamModel: c.model, provider: c.provider)
            } catch {
                release(.requestError, cost: 0)
                return finish(error: error)
            }
            c.provider.finish(&request)
            status = 0
            body = []
            startedAt = DispatchTime.now().uptimeNanoseconds
            let t = client.makeTransfer(request, delegate: self)
            transfer = t
            t.start()
            return
        }
        guard !finished else { return }
        if failures.isEmpty {
            return finish(error: .invalidRequest("No provider for \"\(input.model)\" serves embeddings.", param: "model",
                                                 code: "embeddings_not_supported"))
        }
        if failures.count == 1 { return finish(error: failures[0].1) }
        let status = failures.allSatisfy { $0.1.status == 429 } ? 429 : 502
        finish(error: GatewayError(status: status, type: GatewayError.openAIType(forStatus: status), code: "all_providers_failed",
                                   message: "Every provider failed: " + failures.map { "\($0.0): \($0.1.status) \($0.1.message)" }
                                       .joined(separator: "; ")))
    }

    private func release(_ outcome: ProviderHealth.Outcome, cost: Double) {
        guard let current else { return }
        if let reservation {
            gateway.budgets.settle(reservation, cost: cost)
            self.reservation = nil
        }
        gateway.health.report(current.provider.name, outcome, wasProbe: wasProbe)
        wasProbe = false
    }

    func transferDidReceiveHead(_ transfer: UpstreamTransfer, status: Int, headers: HTTPHeaders) {
        guard transfer === self.transfer else { return }
        self.status = status
        self.headers = headers
    }

    func transferDidReceive(_ transfer: UpstreamTransfer, bytes: UnsafeRawBufferPointer) {
        guard transfer === self.transfer, body.count < 256 << 20 else { return }
        body.append(contentsOf: bytes)
    }

    func transferDidComplete(_ transfer: UpstreamTransfer, error: UpstreamError?) {
        guard transfer === self.transfer, !finished, let current, let embed = current.provider.embed else { return }
        self.transfer = nil
        let failure: GatewayError?
        if let error {
            failure = .badGateway("The upstream connection failed: \(error.message).")
        } else if !(200..<300).contains(status) {
            failure = embed.decodeError(status: status, headers: headers, body: body)
        } else {
            do throws(GatewayError) {
                let result = try embed.decodeResponse(status: status, headers: headers, body: body)
                guard result.vectors.count == input.inputs.count else {
                    throw GatewayError.badGateway("The upstream returned \(result.vectors.count) embeddings for \(input.inputs.count) inputs.")
                }
                var usage = Usage(promptTokens: result.promptTokens)
                let estimated = result.promptTokens == 0
                if estimated {
                    usage.promptTokens = input.inputs.reduce(0) { $0 + TokenEstimator.tokens(forTextBytes: $1.utf8.count) }
                }
                let cost = current.info.cost(usage)
                release(.success, cost: cost)
                var result2 = result
                result2.promptTokens = usage.promptTokens
                let json = EmbeddingEncoding.responseJSON(result2, model: current.model, format: input.encodingFormat)
                rows.append(row(outcome: .ok, usage: usage, estimated: estimated, cost: cost))
                finished = true
                return commit { [self] in
                    var h = HTTPHeaders()
                    h.add("Content-Type", "application/json")
                    h.add("x-tollgate-provider", current.provider.name)
                    h.add("x-tollgate-model", current.model)
                    h.add("x-tollgate-attempts", String(attempts))
                    h.add("x-tollgate-request-id", requestID)
                    h.add("x-tollgate-cost-usd", formatUSD(cost))
                    response.respond(status: 200, headers: h, body: json.serialized())
                    gateway.logRequest(response, model: input.model, provider: current.provider.name, attempts: attempts,
                                       requestID: requestID, cost: cost)
                }
            } catch {
                failure = error
            }
        }
        guard let failure else { return }
        let retryable = FailoverRules.isRetryable(status: failure.status) || failure.status >= 500
        release(retryable ? .failure(status: failure.status, message: failure.message, retryAfter: failure.retryAfter)
                    : .requestError, cost: 0)
        rows.append(row(outcome: retryable && index < candidates.count ? .failedOver : .upstreamError,
                        usage: Usage(), estimated: false, cost: 0))
        failures.append((current.provider.name, failure))
        if retryable, index < candidates.count { return tryNext() }
        finish(error: failure)
    }

    private func row(outcome: LedgerOutcome, usage: Usage, estimated: Bool, cost: Double) -> LedgerRow {
        LedgerRow(timeMs: Int64(wallClockMilliseconds()), requestID: requestID, route: input.model,
                  provider: current?.provider.name ?? "-", model: current?.model ?? "-", streamed: false, outcome: outcome,
                  attempt: attempts, status: status, usage: usage, tokensEstimated: estimated, costUSD: cost, ttfbMs: nil,
                  totalMs: Double(DispatchTime.now().uptimeNanoseconds - startedAt) / 1e6)
    }

    private func commit(then: @escaping () -> Void) {
        guard let ledger = gateway.ledger, !rows.isEmpty else { return then() }
        let box = LoopBound(then)
        ledger.record(rows, callbackQueue: response.loop.queue) { [gateway] error in
            if let error { gateway.logger.error("ledger write failed: \(error)") }
            box.value()
        }
        rows.removeAll()
    }

    private func finish(error: GatewayError) {
        finished = true
        commit { [self] in
            response.respond(error: error)
            gateway.logRequest(response, model: input.model, provider: current?.provider.name, attempts: attempts,
                               error: error.message, requestID: requestID)
        }
    }
}
