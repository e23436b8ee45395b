import Dispatch
import TollgateCore
import TollgateHTTP
import TollgateLedger
import TollgateUpstream
import TollgateWire

/// One client request carried through its candidates. The failover engine decides; the
/// exchange carries each decision out: it admits a candidate past its breaker and budget,
/// runs the attempt, relays the answer (whole, or streamed with back-pressure), books one
/// ledger row per attempt and commits them before the end reaches the client. What differs
/// between kinds of request is its `ExchangeAdapter`. Lives on the loop queue of the client's
/// connection.
final class Exchange: AttemptDelegate {
    let gateway: Gateway
    let snapshot: GatewaySnapshot
    let writer: any ResponseWriter
    let client: UpstreamClient
    private let loopLedger: LoopLedger?
    let adapter: any ExchangeAdapter
    let candidates: [Candidate]
    /// Who asked (`clients` in the config), charged alongside the provider; nil when no clients are configured.
    let caller: ResolvedClient?
    let requestID: String
    /// The snapshot's redactor, plus the client's own key when a `byok` candidate carries one.
    let redactor: SecretRedactor
    private var engine: FailoverEngine
    private var ledger: AttemptLedger
    private let response: ResponseSide

    // The attempt in progress (or the last one).
    private var candidate: Candidate?
    private var attempt: Attempt?
    private var admission: AttemptAdmission
    private var decoder: (any ChatStreamDecoder)?
    private var usage: Usage?
    private var usageEstimated = false
    private var answer: ExchangeAnswer?
    private var streamedTextBytes = 0
    private var finished = false
    /// The signed-in attempt's token (a client's bearer, a refreshed one): redacted from upstream text.
    private var sessionToken: String?

    init(gateway: Gateway, snapshot: GatewaySnapshot, writer: any ResponseWriter, adapter: any ExchangeAdapter,
         candidates: [Candidate], client caller: ResolvedClient? = nil) {
        self.caller = caller
        admission = AttemptAdmission(gateway: gateway, caller: caller)
        self.gateway = gateway
        self.snapshot = snapshot
        self.writer = writer
        self.adapter = adapter
        self.candidates = candidates
        let services = gateway.services(for: writer.loop)
        client = services.upstream
        loopLedger = services.ledger
        requestID = makeRequestID()
        let clientKeys = candidates.filter(\.provider.byok).compactMap(\.provider.credentials.apiKey)
        redactor = clientKeys.isEmpty ? snapshot.redactor : SecretRedactor(secrets: snapshot.redactor.secrets + clientKeys)
        let health = gateway.health
        let order = CandidateOrder.order(
            candidates.map { CandidateOrder.Entry(tier: $0.tier, weight: $0.weight, inFlight: health.inFlight($0.provider.name)) },
            mode: snapshot.balance(for: adapter.route), random: { Double.random(in: 0..<1) })
        engine = FailoverEngine(
            route: adapter.route,
            options: candidates.map {
                FailoverEngine.Option(provider: $0.provider.name, model: $0.model, contextWindow: $0.info.contextWindow,
                                      retries: $0.provider.retries)
            },
            order: order, settings: FailoverEngine.Settings(snapshot.config.failover), clock: monotonicSeconds)
        ledger = AttemptLedger(requestID: requestID, api: adapter.api, client: caller?.name, route: adapter.route,
                               streamed: adapter.streamed)
        response = ResponseSide(writer: writer, adapter: adapter)
    }

    func start() {
        writer.onClientGone = { [self] in clientGone() }
        writer.onDrained = { [self] in attempt?.resume() }
        if let refusal = admission.admitCaller(route: adapter.route, estimatedTokens: adapter.estimatedInputTokens) {
            return finish(error: refusal)
        }
        carryOut(engine.next(gate: gate))
    }

    // MARK: decisions

    /// Checks a candidate's breaker, then reserves its worst case against its budgets.
    private func gate(_ index: Int) -> FailoverEngine.Gate {
        let c = candidates[index]
        return admission.gate(provider: c.provider.name, worstCase: adapter.worstCaseCost(c))
    }

    private func carryOut(_ decision: FailoverEngine.Decision) {
        guard !finished else { return }
        switch decision {
        case .attempt(let index):
            ledger.markLastFailedOver()
            startAttempt(candidates[index])
        case .retry(let wait):
            ledger.markLastFailedOver()
            let box = LoopBound(self)
            writer.loop.queue.asyncAfter(deadline: .now() + wait) {
                let exchange = box.value
                guard !exchange.finished else { return }
                exchange.carryOut(exchange.engine.next(gate: exchange.gate))
            }
        case .fail(let error):
            finish(error: error)
        }
    }

    /// Signs the candidate in, then sends. A strategy that needs token work (a refresh, an
    /// exchange) gets it done on a credential worker, off the loop; the attempt goes on, back
    /// on the loop, when the session is ready, or fails over when it cannot be had.
    private func startAttempt(_ c: Candidate) {
        candidate = c
        attempt = nil
        sessionToken = nil
        // The client's bearer may go upstream (a subscription's pass-through), unless it is the
        // tollgate client key the caller was recognised by: that key never leaves tollgate.
        let signing = c.passing(bearer: adapter.clientBearer.flatMap { bearer in
            caller?.key.map { Gateway.constantTimeEqual(bearer, $0) } == true ? nil : bearer
        })
        switch signing.provider.auth.readiness(of: signing.provider) {
        case .ready(let session):
            send(signing.signedIn(session))
        case .failed(let failure):
            signInFailed(failure)
        case .needsWork:
            let box = LoopBound(self)
            CredentialWork.shared.prepare(signing.provider, on: writer.loop) { result in
                let exchange = box.value
                // The client left while the token was fetched: only the admission and reservation remain.
                guard !exchange.finished else { return exchange.release(.abandoned) }
                switch result {
                case .success(let session):
                    exchange.send(signing.signedIn(session))
                case .failure(let failure):
                    exchange.signInFailed(failure)
                }
            }
        }
    }

    /// Builds and starts the upstream transfer of a signed-in candidate.
    private func send(_ c: Candidate) {
        sessionToken = c.provider.session?.token
        let request: UpstreamRequest
        do {
            request = try adapter.request(for: c, requestID: requestID)
        } catch {
            // The request cannot be expressed for this provider: the client's problem, not the provider's.
            release(.requestError)
            return finish(error: error)
        }
        decoder = nil
        usage = nil
        usageEstimated = false
        answer = nil
        streamedTextBytes = 0
        let attempt = Attempt(number: engine.attempts, loop: writer.loop, delegate: self)
        self.attempt = attempt
        attempt.start(request, on: client, firstByteTimeout: snapshot.config.failover.firstByteTimeoutSeconds,
                      idleTimeout: c.provider.idleTimeoutSeconds ?? snapshot.config.failover.idleTimeoutSeconds)
    }

    /// A candidate that could not sign in (no token, a refused refresh): no upstream was
    /// reached, so no ledger row; the engine decides what comes next as for an auth failure.
    private func signInFailed(_ unredacted: UpstreamFailure) {
        guard let c = candidate, !finished else { return }
        let failure = redact(unredacted)
        gateway.logger.warning("\(c.provider.name): sign-in failed: \(failure.error.message.prefix(300))",
                               metadata: ["request_id": "\(requestID)"])
        release(FailoverPolicy.healthOutcome(for: failure))
        carryOut(engine.failed(failure, gate: gate))
    }

    /// Upstream text without secrets: the snapshot's and the client's keys, and the attempt's session token.
    private func redact(_ failure: UpstreamFailure) -> UpstreamFailure {
        let redacted = redactor.redact(failure)
        guard let sessionToken else { return redacted }
        return SecretRedactor(secrets: [sessionToken]).redact(redacted)
    }

    /// Books a failed attempt and asks the engine what comes next. Upstream text is redacted
    /// here, before the client, the health, the summary or the log sees it.
    private func attemptFailed(_ unredacted: UpstreamFailure) {
        guard let c = candidate, !finished else { return }
        let failure = redact(unredacted)
        // A signed-in token the upstream refused is not used again (refreshed or exchanged anew).
        if failure.error.status == 401, let sessionToken { c.provider.auth.rejected(c.provider, token: sessionToken) }
        release(FailoverPolicy.healthOutcome(for: failure))
        ledger.add(c, attempt: attempt, outcome: .upstreamError, status: failure.error.status, failure: failure.kind)
        let decision = engine.failed(failure, gate: gate)
        if case .attempt = decision {
            gateway.logger.warning("\(c.provider.name)/\(c.model) failed (\(failure.error.status): \(failure.error.message.prefix(200))); trying the next provider",
                                   metadata: ["request_id": "\(requestID)"])
        }
        carryOut(decision)
    }

    /// Ends the current attempt's admission (breaker) and reservation (budget).
    private func release(_ outcome: ProviderHealth.Outcome, cost: Double = 0) {
        guard let c = candidate else { return }
        admission.release(provider: c.provider.name, outcome, cost: cost)
    }

    // MARK: AttemptDelegate

    func attempt(_ attempt: Attempt, didReceiveHead status: Int, headers: HTTPHeaders) -> Bool {
        guard attempt === self.attempt, !finished, adapter.streamed, (200..<300).contains(status), let c = candidate,
              let decoder = adapter.streamDecoder(for: c, headers: headers) else { return false }
        self.decoder = decoder
        response.startStream(headers: tollgateHeaders)
        return true
    }

    func attempt(_ attempt: Attempt, didReceive bytes: UnsafeRawBufferPointer) {
        guard attempt === self.attempt, !finished, var decoder else { return }
        let outputs = decoder.feed(bytes)
        self.decoder = decoder
        relay(outputs)
    }

    func attempt(_ attempt: Attempt, didFinish result: Result<[UInt8], UpstreamFailure>) {
        guard attempt === self.attempt, !finished, let c = candidate else { return }
        if var decoder {
            // A stream that ended without saying it was complete. After a broken connection a
            // half-received event is dropped, not parsed.
            if case .success = result {
                let outputs = decoder.finish()
                self.decoder = decoder
                relay(outputs)
            }
            guard !finished else { return }
            switch result {
            case .failure(let failure) where failure.kind == .timeout:
                return endStream(failure: .cutMidStream(failure.error.message))
            case .failure(let failure):
                let detail = failure.error.message.replacing("The upstream connection failed: ", with: "")
                return endStream(failure: .cutMidStream("The upstream connection failed mid-stream: \(detail)"))
            case .success:
                return endStream(failure: .cutMidStream("The upstream ended the stream before it was complete."))
            }
        }
        let body: [UInt8]
        switch result {
        case .failure(let failure): return attemptFailed(failure)
        case .success(let bytes): body = bytes
        }
        guard (200..<300).contains(attempt.status) else {
            return attemptFailed(adapter.failure(for: c, status: attempt.status, headers: attempt.headers, body: body))
        }
        do throws(UpstreamFailure) {
            let answer = try adapter.answer(for: c, status: attempt.status, headers: attempt.headers, body: body)
            self.answer = answer
            usage = answer.usage
            usageEstimated = answer.estimated
            if adapter.streamed {
                // The upstream ignored `stream: true`: the client still gets the stream it asked for.
                let outputs = try adapter.replay(answer)
                response.startStream(headers: tollgateHeaders)
                relay(outputs)
                endStreamSuccessfully()
            } else {
                finish(answer: answer)
            }
        } catch {
            attemptFailed(error)
        }
    }

    // MARK: streaming

    private func relay(_ outputs: [StreamOutput]) {
        var out: [UInt8] = []
        for output in outputs {
            guard !finished else { return }
            switch output {
            case .chunk(let data):
                // Counted for an estimate: a cut stream's usage may be missing or partial.
                streamedTextBytes += adapter.textBytes(ofChunk: data)
                out += adapter.render(chunk: data)
            case .raw(let bytes, let textBytes):
                // A same-family stream: the upstream's own events, byte for byte.
                streamedTextBytes += textBytes
                out += bytes
            case .usage(let reported):
                usage = reported
            case .error(let error):
                response.send(out)
                attempt?.cancel()
                return endStream(failure: UpstreamFailure(kind: .cutMidStream, error: error))
            case .done:
                response.send(out)
                // The transfer reads the rest of the body by itself, so the upstream connection stays reusable.
                attempt?.detach()
                return endStreamSuccessfully()
            }
        }
        response.send(out)
        // Back-pressure: a client that reads slowly holds the upstream back instead of growing a buffer.
        if response.isBackedUp { attempt?.pause() }
    }

    private func endStreamSuccessfully() {
        guard !finished else { return }
        finished = true
        let cost = settle(outcome: .ok, status: 200, health: .success)
        commit { [self] in
            watchDelivery()
            response.endStream(usage: usage)
            logDone(status: 200, cost: cost)
        }
    }

    private func endStream(failure: UpstreamFailure) {
        guard !finished else { return }
        finished = true
        attempt?.cancel()
        let error = redact(failure).error
        let cost = settle(outcome: .upstreamError, status: error.status,
                          health: .failure(status: error.status, message: error.message, retryAfter: nil))
        commit { [self] in
            response.endStream(error: error)
            logDone(status: error.status, error: error.message, cost: cost)
        }
    }

    // MARK: finishing

    private func finish(answer: ExchangeAnswer) {
        guard !finished else { return }
        finished = true
        let cost = settle(outcome: .ok, status: attempt?.status ?? 200, health: .success)
        commit { [self] in
            watchDelivery()
            response.respond(body: answer.body, headers: tollgateHeaders, cost: cost)
            logDone(status: 200, cost: cost)
        }
    }

    /// Answers with an error; attempts that reached an upstream are committed first.
    private func finish(error: GatewayError) {
        guard !finished else { return }
        finished = true
        commit { [self] in
            response.respond(error: error, headers: candidate == nil ? HTTPHeaders() : tollgateHeaders)
            logDone(status: error.status, error: error.message, cost: 0)
        }
    }

    /// An answer booked `ok` whose last bytes then never leave (the connection dies first) is
    /// re-booked as cancelled: `ok` is only ever recorded for an answer that was sent.
    private func watchDelivery() {
        guard let ledger = gateway.ledger else { return }
        let (requestID, logger) = (self.requestID, gateway.logger)
        writer.onUndelivered = {
            ledger.markUndelivered(requestID: requestID)
            logger.warning("the answer was not delivered: the client's connection closed first", metadata: ["request_id": "\(requestID)"])
        }
    }

    private func clientGone() {
        guard !finished else { return }
        finished = true
        let reachedUpstream = (attempt.map { !$0.done } ?? false) || decoder != nil
        attempt?.cancel()
        if reachedUpstream {
            let cost = settle(outcome: .clientCancelled, status: 499, health: .abandoned)
            commit { [self] in logDone(status: 499, cost: cost) }
        } else {
            commit { [self] in logDone(status: 499, cost: 0) }
        }
    }

    /// Books the final attempt: reported usage, or an estimate (marked) when the provider gave
    /// none — and never less than the estimate when the answer was cut short, since usage
    /// reported so far may be a running count that stops before the text the client received.
    private func settle(outcome: LedgerOutcome, status: Int, health: ProviderHealth.Outcome) -> Double {
        var final: Usage
        var estimated = usageEstimated
        if let reported = usage {
            final = reported
            if outcome != .ok {
                let guess = adapter.estimatedUsage(streamedTextBytes: streamedTextBytes, answer: answer)
                if guess.completionTokens > final.completionTokens {
                    final.completionTokens = guess.completionTokens
                    estimated = true
                }
                if final.promptTokens == 0 {
                    final.promptTokens = guess.promptTokens
                    estimated = true
                }
            }
        } else {
            final = adapter.estimatedUsage(streamedTextBytes: streamedTextBytes, answer: answer)
            estimated = true
        }
        let cost = candidate.map { $0.info.cost(final) } ?? 0
        release(health, cost: cost)
        admission.settleRate(tokens: final.promptTokens + final.completionTokens)
        // A subscription's row costs $0 and says what the list price would have been.
        ledger.add(candidate, attempt: attempt, outcome: outcome, status: status, usage: final, estimated: estimated,
                   cost: cost, listCost: candidate.map { $0.info.listCost(final) })
        return cost
    }

    /// Commits the rows (with the rest of the loop's batch), then runs `then` on the loop: the
    /// client never sees the end of an answer before its ledger row is committed.
    private func commit(then: @escaping () -> Void) {
        AttemptLedger.commit(ledger.takeRows(), to: loopLedger, then: then)
    }

    private var tollgateHeaders: HTTPHeaders {
        ResponseSide.tollgateHeaders(candidate, attempts: engine.attempts, requestID: requestID)
    }

    private func logDone(status: Int, error: String? = nil, cost: Double) {
        gateway.logRequest(writer, model: adapter.route, provider: candidate?.provider.name, attempts: engine.attempts,
                           error: error, requestID: requestID, cost: cost)
        gateway.exchangeEnded(writer, snapshot: snapshot, route: adapter.route, status: status, attempts: ledger)
    }
}
