import Dispatch
import TollgateCore
import TollgateHTTP
import TollgateLedger
import TollgateUpstream
import TollgateWire

/// Carries one chat request through its candidates: admits each past its provider's breaker
/// and budget, encodes it, retries or fails over while nothing has reached the client, and
/// relays the answer (whole or as SSE). Lives on the loop queue of the client's connection.
final class ChatRelay: UpstreamTransferDelegate {
    let gateway: Gateway
    let snapshot: GatewaySnapshot
    let response: HTTPResponseWriter
    let client: UpstreamClient
    let input: ChatRequestInput
    let candidates: [Candidate]
    let requestID: String

    // Progress through the candidates.
    private var index = 0
    private var retriesUsed = 0
    private var attemptCount = 0
    /// Only candidates with a larger context window remain after a context-length error.
    private var minimumContext: Int?
    private var refusals: [BudgetBook.Refusal] = []
    private var cooling: [(String, Double)] = []
    private var failures: [Attempt] = []
    private var rows: [LedgerRow] = []

    // The attempt in progress.
    private var current: Candidate?
    private var context: ChatContext?
    private var transfer: UpstreamTransfer?
    private var wasProbe = false
    private var reservation: BudgetBook.Reservation?
    private var attemptStartedAt: UInt64 = 0
    private var firstByteDeadline: Int?
    private var decoder: (any ChatStreamDecoder)?
    private var body: [UInt8] = []
    private var upstreamStatus = 0
    private var upstreamHeaders = HTTPHeaders()
    private var usage: Usage?
    private var streamedTextBytes = 0
    private var headAt: UInt64 = 0

    private var streaming = false
    private var finished = false

    /// Largest non-streamed upstream answer accepted.
    static let maxResponseBytes = 64 << 20

    struct Attempt {
        var provider: String
        var model: String
        var status: Int
        var reason: String
    }

    init(gateway: Gateway, snapshot: GatewaySnapshot, response: HTTPResponseWriter, client: UpstreamClient,
         input: ChatRequestInput, candidates: [Candidate]) {
        self.gateway = gateway
        self.snapshot = snapshot
        self.response = response
        self.client = client
        self.input = input
        self.candidates = candidates
        requestID = makeRequestID()
    }

    func start() {
        response.onClientGone = { [self] in clientGone() }
        tryNext()
    }

    private var clientWantsUsage: Bool {
        input.json["stream_options"]?["include_usage"]?.boolValue ?? false
    }

    // MARK: choosing the next attempt

    private func tryNext() {
        guard !finished else { return }
        while index < candidates.count {
            let candidate = candidates[index]
            if let minimumContext, (candidate.info.contextWindow ?? 0) <= minimumContext {
                index += 1
                continue
            }
            let admission = gateway.health.admit(candidate.provider.name)
            if case .coolingDown(let remaining) = admission {
                cooling.append((candidate.provider.name, remaining))
                index += 1
                retriesUsed = 0
                continue
            }
            let needed = worstCaseCost(candidate)
            switch gateway.budgets.reserve(provider: candidate.provider.name, amount: needed) {
            case .failure(let refusal):
                gateway.health.report(candidate.provider.name, .abandoned, wasProbe: admission == .probe)
                refusals.append(refusal)
                index += 1
                retriesUsed = 0
                continue
            case .success(let r):
                reservation = r
            }
            wasProbe = admission == .probe
            return startAttempt(candidate)
        }
        failAll()
    }

    /// The most this attempt can cost: estimated input plus the output cap at the model's prices.
    private func worstCaseCost(_ c: Candidate) -> Double {
        guard c.info.priced, !c.info.isFree else { return 0 }
        let output = input.maxOutputTokens ?? c.info.maxOutputTokens ?? 4096
        return c.info.cost(Usage(promptTokens: TokenEstimator.inputTokens(input.json), completionTokens: output))
    }

    private func startAttempt(_ candidate: Candidate) {
        attemptCount += 1
        current = candidate
        let context = ChatContext(upstreamModel: candidate.model, stream: input.stream,
                                  clientWantsUsage: clientWantsUsage, provider: candidate.provider,
                                  maxOutputTokens: candidate.info.maxOutputTokens, requestID: requestID,
                                  created: Int(wallClockSeconds()))
        self.context = context
        let request: UpstreamRequest
        do {
            request = try candidate.provider.upstreamRequest(for: acceptedInput(for: candidate), context: context)
        } catch {
            // The request cannot be expressed for this provider: the client's problem, not the provider's.
            releaseAttempt(outcome: .requestError)
            return finish(error: error)
        }
        body.removeAll()
        decoder = nil
        usage = nil
        streamedTextBytes = 0
        upstreamStatus = 0
        upstreamHeaders = HTTPHeaders()
        headAt = 0
        attemptStartedAt = DispatchTime.now().uptimeNanoseconds
        armFirstByteTimer()
        let transfer = client.makeTransfer(request, delegate: self)
        self.transfer = transfer
        transfer.start()
    }

    /// The request without the parameters the candidate's protocol cannot carry (each named in a warning).
    private func acceptedInput(for candidate: Candidate) -> ChatRequestInput {
        guard let accepted = candidate.provider.chat.acceptedParameters, case .object(var object) = input.json else {
            return input
        }
        let dropped = object.keys.filter { !accepted.contains($0) }
        guard !dropped.isEmpty else { return input }
        for key in dropped { object[key] = nil }
        gateway.logger.warning("dropped parameters \(dropped.joined(separator: ", ")) not supported by \(candidate.provider.chat.name) (provider \(candidate.provider.name))",
                               metadata: ["request_id": "\(requestID)"])
        var copy = input
        copy.json = .object(object)
        return copy
    }

    private func armFirstByteTimer() {
        disarmFirstByteTimer()
        firstByteDeadline = response.loop.schedule(after: snapshot.config.failover.firstByteTimeoutSeconds) { [weak self] in
            self?.firstByteDeadline = nil
            self?.firstByteTimedOut()
        }
    }

    private func disarmFirstByteTimer() {
        if let id = firstByteDeadline { response.loop.cancelScheduled(id) }
        firstByteDeadline = nil
    }

    private func firstByteTimedOut() {
        guard let transfer, !finished, upstreamStatus == 0 else { return }
        transfer.cancel()
        self.transfer = nil
        let seconds = snapshot.config.failover.firstByteTimeoutSeconds
        attemptFailed(.gatewayTimeout("The upstream sent nothing within \(seconds) s."), retryable: true)
    }

    // MARK: failures

    /// Books an attempt that did not produce the answer and decides what comes next: the same
    /// provider again (retries with backoff), the next candidate, or the error to the client.
    private func attemptFailed(_ error: GatewayError, retryable: Bool) {
        guard let current, !finished else { return }
        disarmFirstByteTimer()
        let providerFault = retryable || FailoverRules.isRetryable(status: error.status)
        releaseAttempt(outcome: providerFault
            ? .failure(status: error.status, message: error.message, retryAfter: error.retryAfter) : .requestError)
        failures.append(Attempt(provider: current.provider.name, model: current.model, status: error.status,
                                reason: error.message))
        rows.append(row(outcome: .upstreamError, status: error.status, usage: nil, cost: 0))

        if FailoverRules.isContextLengthError(error) {
            minimumContext = current.info.contextWindow ?? Int.max
            index += 1
            retriesUsed = 0
            if candidates[index...].contains(where: { ($0.info.contextWindow ?? 0) > minimumContext! }) {
                markLastRowFailedOver()
                return tryNext()
            }
            return finish(error: error)
        }
        guard retryable, index < candidates.count else { return finish(error: finalError(last: error)) }

        let settings = snapshot.config.failover
        let backoff = settings.retryBaseDelaySeconds * Double(1 << min(retriesUsed, 8)) * Double.random(in: 0.5...1.5)
        let wait = error.retryAfter ?? backoff
        let sameProviderWorthIt = [408, 429, 500, 502, 503, 504, 529].contains(error.status) || error.status == 0
        if retriesUsed < current.provider.retries, wait <= settings.maxRetryWaitSeconds, sameProviderWorthIt {
            retriesUsed += 1
            markLastRowFailedOver()
            let box = LoopBound(self)
            response.loop.queue.asyncAfter(deadline: .now() + wait) { box.value.tryNext() }
            return
        }
        index += 1
        retriesUsed = 0
        if hasAnotherCandidate() {
            markLastRowFailedOver()
            gateway.logger.warning("\(current.provider.name)/\(current.model) failed (\(error.status): \(error.message.prefix(200))); trying the next provider",
                                   metadata: ["request_id": "\(requestID)"])
            return tryNext()
        }
        finish(error: finalError(last: error))
    }

    private func hasAnotherCandidate() -> Bool {
        index < candidates.count
    }

    private func markLastRowFailedOver() {
        if !rows.isEmpty { rows[rows.count - 1].outcome = .failedOver }
    }

    /// Ends the current attempt's admission and reservation.
    private func releaseAttempt(outcome: ProviderHealth.Outcome, cost: Double = 0) {
        guard let current else { return }
        if let reservation {
            gateway.budgets.settle(reservation, cost: cost)
            self.reservation = nil
        }
        gateway.health.report(current.provider.name, outcome, wasProbe: wasProbe)
        wasProbe = false
    }

    /// The error for the client when nothing worked: one attempt's own error, or a summary of all.
    private func finalError(last: GatewayError?) -> GatewayError {
        // One provider (however many retries, even if its breaker opened meanwhile): its own
        // error, status and message as it sent them.
        let involved = Set(failures.map(\.provider) + refusals.map(\.provider) + cooling.map(\.0))
        if involved.count <= 1, !failures.isEmpty, refusals.isEmpty, let last { return last }
        if failures.isEmpty, cooling.isEmpty, !refusals.isEmpty {
            var e = GatewayError(status: 429, type: "budget_exceeded", code: "budget_exceeded",
                                 message: "Every provider for \"\(input.model)\" is over budget: "
                                     + refusals.map(\.description).joined(separator: "; ") + ".")
            e.retryAfter = nil
            return e
        }
        if failures.isEmpty, refusals.isEmpty, !cooling.isEmpty {
            let wait = cooling.map(\.1).min() ?? 1
            return GatewayError(status: 503, type: "service_unavailable", code: "providers_cooling_down",
                                message: "Every provider for \"\(input.model)\" is cooling down after failures: "
                                    + cooling.map { "\($0.0) (\(Int($0.1.rounded(.up))) s more)" }.joined(separator: ", ") + ".",
                                retryAfter: max(1, wait))
        }
        var parts = failures.map { "\($0.provider)/\($0.model): \($0.status) \($0.reason.prefix(200))" }
        parts += refusals.map { "\($0.provider): over budget (\($0.description))" }
        parts += cooling.map { "\($0.0): cooling down" }
        let status: Int
        if failures.allSatisfy({ $0.status == 429 }) && cooling.isEmpty {
            status = 429
        } else if failures.allSatisfy({ $0.status == 503 || $0.status == 529 || $0.status == 0 }) {
            status = 503
        } else if let last, !FailoverRules.isRetryable(status: last.status), last.status >= 400, last.status < 500 {
            status = last.status
        } else {
            status = 502
        }
        return GatewayError(status: status, type: GatewayError.openAIType(forStatus: status), code: "all_providers_failed",
                            message: "Every provider failed for \"\(input.model)\" (\(parts.count) attempts): "
                                + parts.joined(separator: "; "),
                            retryAfter: last?.retryAfter)
    }

    private func failAll() {
        finish(error: finalError(last: nil))
    }

    // MARK: UpstreamTransferDelegate

    func transferDidReceiveHead(_ transfer: UpstreamTransfer, status: Int, headers: HTTPHeaders) {
        guard transfer === self.transfer, !finished else { return }
        disarmFirstByteTimer()
        headAt = DispatchTime.now().uptimeNanoseconds
        upstreamStatus = status
        upstreamHeaders = headers
        guard input.stream, (200..<300).contains(status), let context else { return }
        if let type = headers["Content-Type"]?.lowercased(), type.contains("json"), !type.contains("stream") {
            return  // Not a stream after all: buffered and converted when complete.
        }
        streaming = true
        decoder = context.provider.chat.makeStreamDecoder(context: context)
        var h = tollgateHeaders()
        h.add("Content-Type", "text/event-stream")
        h.add("Cache-Control", "no-cache")
        response.startStream(status: 200, headers: h)
    }

    func transferDidReceive(_ transfer: UpstreamTransfer, bytes: UnsafeRawBufferPointer) {
        guard transfer === self.transfer, !finished else { return }
        if streaming, var decoder {
            let outputs = decoder.feed(bytes)
            self.decoder = decoder
            emit(outputs)
            return
        }
        guard body.count + bytes.count <= Self.maxResponseBytes else {
            transfer.cancel()
            self.transfer = nil
            return attemptFailed(.badGateway("The upstream answer exceeds \(Self.maxResponseBytes) bytes."), retryable: false)
        }
        body.append(contentsOf: bytes)
    }

    func transferDidComplete(_ transfer: UpstreamTransfer, error: UpstreamError?) {
        guard transfer === self.transfer, !finished else { return }
        self.transfer = nil
        disarmFirstByteTimer()
        if streaming {
            // After a broken connection a half-received event is dropped, not parsed.
            if error == nil, var decoder {
                let outputs = decoder.finish()
                self.decoder = decoder
                emit(outputs)
            }
            guard !finished else { return }
            let why = error.map { "The upstream connection failed mid-stream: \($0.message)." }
                ?? "The upstream ended the stream before it was complete."
            return endStreamWithError(.badGateway(why, code: "upstream_stream_interrupted"))
        }
        if let error {
            let gatewayError: GatewayError
            switch error.kind {
            case .timeout where transfer.firstByteAt == 0:
                gatewayError = .gatewayTimeout("The upstream did not answer in time: \(error.message).")
            case .connect:
                gatewayError = .badGateway("Could not connect to the upstream: \(error.message).", code: "upstream_unreachable")
            default:
                gatewayError = .badGateway("The upstream connection failed: \(error.message).")
            }
            // Once the upstream has answered, a retry could run the request twice; only
            // failures before the first byte, or after an error status, fail over.
            return attemptFailed(gatewayError, retryable: transfer.firstByteAt == 0 || upstreamStatus >= 500)
        }
        guard let context else { return }
        guard upstreamStatus >= 100 else {
            return attemptFailed(.badGateway("The upstream answered without a valid HTTP status line."), retryable: true)
        }
        guard (200..<300).contains(upstreamStatus) else {
            let error = context.provider.chat.decodeError(status: upstreamStatus, headers: upstreamHeaders, body: body)
            return attemptFailed(error, retryable: FailoverRules.isRetryable(status: upstreamStatus))
        }
        do {
            let result = try context.provider.chat.decodeResponse(status: upstreamStatus, headers: upstreamHeaders,
                                                                  body: body, context: context)
            usage = result.usage
            if input.stream { return replayAsStream(result) }
            finish(body: result.body)
        } catch {
            attemptFailed(error, retryable: error.status >= 500)
        }
    }

    // MARK: streaming

    private func emit(_ outputs: [StreamOutput]) {
        var out: [UInt8] = []
        for output in outputs {
            guard !finished else { return }
            switch output {
            case .chunk(let data):
                // Counted for an estimate: a cut stream's usage may be missing or partial
                // (Gemini and Anthropic report running counts before the end).
                if let json = try? JSONValue.parse(data) {
                    streamedTextBytes += TokenEstimator.outputBytes(chunk: json)
                }
                out.append(contentsOf: SSEWriter.encode(data: data))
            case .usage(let u):
                usage = u
            case .error(let error):
                if !out.isEmpty { response.writeChunk(out) }
                transfer?.cancel()
                transfer = nil
                return endStreamWithError(error)
            case .done:
                if !out.isEmpty { response.writeChunk(out) }
                // The transfer reads the rest of the body (the chunked terminator) by itself,
                // so the upstream connection stays reusable; its events are ignored from here.
                transfer = nil
                return endStreamSuccessfully()
            }
        }
        if !out.isEmpty { response.writeChunk(out) }
    }

    /// An upstream that ignored `stream: true` and answered with one JSON completion:
    /// the client still gets the SSE it asked for.
    private func replayAsStream(_ result: ChatResult) {
        guard let json = try? JSONValue.parse(result.body) else {
            return attemptFailed(.badGateway("The upstream answer is not JSON."), retryable: true)
        }
        streaming = true
        var h = tollgateHeaders()
        h.add("Content-Type", "text/event-stream")
        h.add("Cache-Control", "no-cache")
        response.startStream(status: 200, headers: h)
        let chunks = ChunkSynthesis.chunks(fromCompletion: json, includeUsage: clientWantsUsage)
        emit(chunks.map { .chunk($0.serializedString()) })
        endStreamSuccessfully()
    }

    private func endStreamSuccessfully() {
        guard !finished else { return }
        finished = true
        let (final, cost) = settle(outcome: .ok, status: 200, health: .success)
        commit(final, cost: cost) { [self] in
            response.writeChunk(SSEWriter.done)
            response.endStream()
            logDone(status: 200, cost: cost)
        }
    }

    private func endStreamWithError(_ error: GatewayError) {
        guard !finished else { return }
        finished = true
        let (final, cost) = settle(outcome: .upstreamError, status: error.status,
                                   health: .failure(status: error.status, message: error.message, retryAfter: nil))
        commit(final, cost: cost) { [self] in
            // No [DONE]: a client that ignores the error event must not mistake this for a complete answer.
            response.writeChunk(SSEWriter.encode(json: error.json))
            response.endStream()
            logDone(status: error.status, error: error.message, cost: cost)
        }
    }

    // MARK: finishing

    private func finish(body: [UInt8]) {
        guard !finished else { return }
        finished = true
        let (final, cost) = settle(outcome: .ok, status: upstreamStatus, health: .success)
        commit(final, cost: cost) { [self] in
            var headers = tollgateHeaders()
            headers.add("x-tollgate-cost-usd", formatUSD(cost))
            headers.add("Content-Type", "application/json")
            response.respond(status: 200, headers: headers, body: body)
            logDone(status: 200, cost: cost)
        }
    }

    /// Answers with an error. Attempts that reached an upstream are committed first.
    private func finish(error: GatewayError) {
        guard !finished else { return }
        finished = true
        disarmFirstByteTimer()
        commit(nil, cost: 0) { [self] in
            var headers = HTTPHeaders()
            if current != nil { headers = tollgateHeaders() }
            response.respond(error: error, headers: headers)
            logDone(status: error.status, error: error.message, cost: 0)
        }
    }

    private func clientGone() {
        guard !finished else { return }
        finished = true
        disarmFirstByteTimer()
        let reachedUpstream = transfer != nil || streaming
        transfer?.cancel()
        transfer = nil
        if reachedUpstream {
            let (final, cost) = settle(outcome: .clientCancelled, status: 499, health: .abandoned)
            commit(final, cost: cost) { [self] in logDone(status: 499, cost: cost) }
        } else {
            commit(nil, cost: 0) { [self] in logDone(status: 499, cost: 0) }
        }
    }

    /// The final attempt's row: reported usage, or an estimate (marked) when the provider gave none.
    private func settle(outcome: LedgerOutcome, status: Int, health: ProviderHealth.Outcome) -> (LedgerRow, Double) {
        disarmFirstByteTimer()
        var usage: Usage
        var estimated: Bool
        if let reported = self.usage {
            usage = reported
            estimated = false
            if outcome != .ok {
                // An answer cut short: usage reported so far may be a running count that stops
                // before the text the client received. Never record less than the estimate.
                let guess = estimatedUsage()
                if guess.completionTokens > usage.completionTokens {
                    usage.completionTokens = guess.completionTokens
                    estimated = true
                }
                if usage.promptTokens == 0 {
                    usage.promptTokens = guess.promptTokens
                    estimated = true
                }
            }
        } else {
            usage = estimatedUsage()
            estimated = true
        }
        let cost = current.map { $0.info.cost(usage) } ?? 0
        releaseAttempt(outcome: health, cost: cost)
        var final = row(outcome: outcome, status: status, usage: usage, cost: cost)
        final.tokensEstimated = estimated
        return (final, cost)
    }

    /// Tokens guessed from the text when the provider reported none.
    private func estimatedUsage() -> Usage {
        var estimated = Usage(promptTokens: TokenEstimator.inputTokens(input.json))
        if streaming {
            estimated.completionTokens = TokenEstimator.tokens(forTextBytes: streamedTextBytes)
        } else if let json = try? JSONValue.parse(body) {
            estimated.completionTokens = TokenEstimator.outputTokens(completion: json)
        }
        return estimated
    }

    private func row(outcome: LedgerOutcome, status: Int, usage: Usage?, cost: Double) -> LedgerRow {
        let now = DispatchTime.now().uptimeNanoseconds
        let firstByte = transferFirstByte
        return LedgerRow(timeMs: Int64(wallClockMilliseconds()), requestID: requestID, route: input.model,
                         provider: current?.provider.name ?? "-", model: current?.model ?? "-", streamed: input.stream,
                         outcome: outcome, attempt: attemptCount, status: status, usage: usage ?? Usage(),
                         tokensEstimated: false, costUSD: cost,
                         ttfbMs: firstByte.map { Double($0 - attemptStartedAt) / 1e6 },
                         totalMs: Double(now - attemptStartedAt) / 1e6)
    }

    private var transferFirstByte: UInt64? { headAt > 0 ? headAt : nil }

    /// Commits the attempts' rows, then runs `then` on the loop: the client never sees the end
    /// of an answer before its ledger row is committed.
    private func commit(_ final: LedgerRow?, cost: Double, then: @escaping () -> Void) {
        var all = rows
        if let final { all.append(final) }
        rows.removeAll()
        guard let ledger = gateway.ledger, !all.isEmpty else { return then() }
        let box = LoopBound(then)
        ledger.record(all, callbackQueue: response.loop.queue) { [gateway] error in
            if let error { gateway.logger.error("ledger write failed: \(error)") }
            box.value()
        }
    }

    private func tollgateHeaders() -> HTTPHeaders {
        var h = HTTPHeaders()
        if let current {
            h.add("x-tollgate-provider", current.provider.name)
            h.add("x-tollgate-model", current.model)
        }
        h.add("x-tollgate-attempts", String(attemptCount))
        h.add("x-tollgate-request-id", requestID)
        return h
    }

    private func logDone(status: Int, error: String? = nil, cost: Double) {
        gateway.logRequest(response, model: input.model, provider: current?.provider.name, attempts: attemptCount,
                           error: error, requestID: requestID, cost: cost)
    }
}
