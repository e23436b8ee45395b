import Dispatch
import TollgateCore
import TollgateHTTP
import TollgateLedger
import TollgateUpstream
import TollgateWire

/// Carries one chat request through its candidates: encodes it for each provider in turn,
/// fails over while nothing has reached the client, and relays the answer (whole or as SSE).
/// Lives on the loop queue of the client's connection.
final class ChatRelay: UpstreamTransferDelegate {
    let gateway: Gateway
    let response: HTTPResponseWriter
    let client: UpstreamClient
    let input: ChatRequestInput
    let candidates: [Candidate]
    let requestID: String
    private var next = 0
    private var attempts: [Attempt] = []
    private var current: Candidate?
    private var context: ChatContext?
    private var transfer: UpstreamTransfer?
    private var decoder: (any ChatStreamDecoder)?
    private var body: [UInt8] = []
    private var streaming = false
    private var finished = false
    private var usage: Usage?
    private var streamedBytes = 0
    private var upstreamStatus = 0
    private var upstreamHeaders = HTTPHeaders()
    /// Largest non-streamed upstream answer accepted.
    static let maxResponseBytes = 64 << 20

    struct Attempt {
        var provider: String
        var model: String
        var status: Int
        var reason: String
    }

    init(gateway: Gateway, response: HTTPResponseWriter, client: UpstreamClient, input: ChatRequestInput,
         candidates: [Candidate]) {
        self.gateway = gateway
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

    // MARK: attempts

    private func tryNext() {
        guard !finished else { return }
        guard next < candidates.count else { return failAll() }
        let candidate = candidates[next]
        next += 1
        current = candidate
        let context = ChatContext(upstreamModel: candidate.model, stream: input.stream,
                                  clientWantsUsage: clientWantsUsage, provider: candidate.provider,
                                  maxOutputTokens: nil, requestID: requestID, created: Int(wallClockMilliseconds() / 1000))
        self.context = context
        let request: UpstreamRequest
        do {
            request = try candidate.provider.upstreamRequest(for: acceptedInput(for: candidate), context: context)
        } catch {
            // The request cannot be expressed for this provider: that is the client's problem.
            return finish(error: error)
        }
        body.removeAll()
        decoder = nil
        upstreamStatus = 0
        upstreamHeaders = HTTPHeaders()
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

    /// Records a failed attempt and moves on when the failure is the provider's, not the request's.
    private func attemptFailed(_ error: GatewayError, retryable: Bool) {
        guard let current else { return }
        attempts.append(Attempt(provider: current.provider.name, model: current.model, status: error.status,
                                reason: error.message))
        if retryable, next < candidates.count {
            gateway.logger.warning("\(current.provider.name)/\(current.model) failed (\(error.status): \(error.message.prefix(200))); trying the next provider",
                                   metadata: ["request_id": "\(requestID)"])
            tryNext()
        } else {
            finish(error: attempts.count > 1 ? combinedError(last: error) : error)
        }
    }

    /// Statuses after which another provider may well succeed.
    static func isRetryable(status: Int) -> Bool {
        [401, 403, 404, 408, 429, 500, 502, 503, 504, 529].contains(status)
    }

    private func combinedError(last: GatewayError) -> GatewayError {
        let list = attempts.map { "\($0.provider)/\($0.model): \($0.status) \($0.reason.prefix(200))" }
            .joined(separator: "; ")
        let status: Int
        if attempts.allSatisfy({ $0.status == 429 }) {
            status = 429
        } else if attempts.allSatisfy({ $0.status == 503 || $0.status == 529 }) {
            status = 503
        } else if attempts.contains(where: { !Self.isRetryable(status: $0.status) }) {
            status = last.status
        } else {
            status = 502
        }
        var error = GatewayError(status: status, type: GatewayError.openAIType(forStatus: status),
                                 code: "all_providers_failed",
                                 message: "Every provider failed (\(attempts.count) attempts): \(list)")
        error.retryAfter = last.retryAfter
        return error
    }

    private func failAll() {
        finish(error: combinedError(last: .badGateway("no provider left to try")))
    }

    // MARK: UpstreamTransferDelegate

    func transferDidReceiveHead(_ transfer: UpstreamTransfer, status: Int, headers: HTTPHeaders) {
        guard transfer === self.transfer, !finished else { return }
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
            return attemptFailed(.badGateway("The upstream answer exceeds \(Self.maxResponseBytes) bytes."), retryable: false)
        }
        body.append(contentsOf: bytes)
    }

    func transferDidComplete(_ transfer: UpstreamTransfer, error: UpstreamError?) {
        guard transfer === self.transfer, !finished else { return }
        self.transfer = nil
        if streaming {
            if var decoder {
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
            // failures before the first byte fail over.
            return attemptFailed(gatewayError, retryable: transfer.firstByteAt == 0 || upstreamStatus >= 500)
        }
        guard let context else { return }
        guard upstreamStatus >= 100 else {
            return attemptFailed(.badGateway("The upstream answered without a valid HTTP status line."), retryable: true)
        }
        guard (200..<300).contains(upstreamStatus) else {
            let error = context.provider.chat.decodeError(status: upstreamStatus, headers: upstreamHeaders, body: body)
            return attemptFailed(error, retryable: Self.isRetryable(status: upstreamStatus))
        }
        do {
            let result = try context.provider.chat.decodeResponse(status: upstreamStatus, headers: upstreamHeaders,
                                                                  body: body, context: context)
            usage = result.usage
            if input.stream {
                return replayAsStream(result)
            }
            finish(body: result.body)
        } catch {
            attemptFailed(error, retryable: true)
        }
    }

    // MARK: streaming

    private func emit(_ outputs: [StreamOutput]) {
        var out: [UInt8] = []
        for output in outputs {
            guard !finished else { return }
            switch output {
            case .chunk(let data):
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
                out.removeAll()
                // The transfer reads the rest of the body (the chunked terminator) by itself,
                // so the upstream connection stays reusable; its events are ignored from here.
                transfer = nil
                return endStreamSuccessfully()
            }
        }
        if !out.isEmpty {
            streamedBytes += out.count
            response.writeChunk(out)
        }
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
        commitLedger(outcome: "ok", status: 200) { [self] in
            response.writeChunk(SSEWriter.done)
            response.endStream()
            logDone(status: 200)
        }
    }

    private func endStreamWithError(_ error: GatewayError) {
        guard !finished else { return }
        finished = true
        if let current {
            attempts.append(Attempt(provider: current.provider.name, model: current.model, status: error.status,
                                    reason: error.message))
        }
        commitLedger(outcome: "upstream_error", status: error.status) { [self] in
            // No [DONE]: a client that ignores the error event must not mistake this for a complete answer.
            response.writeChunk(SSEWriter.encode(json: error.json))
            response.endStream()
            logDone(status: error.status, error: error.message)
        }
    }

    // MARK: finishing

    private func finish(body: [UInt8]) {
        guard !finished else { return }
        finished = true
        commitLedger(outcome: "ok", status: upstreamStatus) { [self] in
            var headers = tollgateHeaders()
            headers.add("Content-Type", "application/json")
            response.respond(status: 200, headers: headers, body: body)
            logDone(status: 200)
        }
    }

    private func finish(error: GatewayError) {
        guard !finished else { return }
        finished = true
        let reached = current != nil && !attempts.isEmpty
        let respond = { [self] in
            var headers = HTTPHeaders()
            if current != nil { headers = tollgateHeaders() }
            response.respond(error: error, headers: headers)
            logDone(status: error.status, error: error.message)
        }
        if reached { commitLedger(outcome: "upstream_error", status: error.status, then: respond) } else { respond() }
    }

    private func clientGone() {
        guard !finished else { return }
        finished = true
        transfer?.cancel()
        transfer = nil
        commitLedger(outcome: "client_cancelled", status: 499) { [self] in logDone(status: 499) }
    }

    private func tollgateHeaders() -> HTTPHeaders {
        var h = HTTPHeaders()
        if let current {
            h.add("x-tollgate-provider", current.provider.name)
            h.add("x-tollgate-model", current.model)
        }
        h.add("x-tollgate-attempts", String(next))
        h.add("x-tollgate-request-id", requestID)
        return h
    }

    private func logDone(status: Int, error: String? = nil) {
        gateway.logRequest(response, model: input.model, provider: current?.provider.name,
                           attempts: next, error: error,
                           requestID: requestID)
    }

    // MARK: ledger

    /// Records the final attempt (and the failed ones before it), then runs `then` on the loop:
    /// the client never sees the end of an answer before its ledger row is committed.
    private func commitLedger(outcome: String, status: Int, then: @escaping () -> Void) {
        guard let ledger = gateway.ledger, let current else { return then() }
        let now = DispatchTime.now().uptimeNanoseconds
        let total = Double(now - response.startedAt) / 1e6
        let wall = Int64(wallClockMilliseconds())
        var rows: [LedgerRow] = []
        for (i, a) in attempts.enumerated() where i < attempts.count - (outcome == "ok" || outcome == "client_cancelled" ? 0 : 1) {
            rows.append(LedgerRow(timeMs: wall, requestID: requestID, route: input.model, provider: a.provider,
                                  model: a.model, streamed: input.stream, outcome: "failed_over", attempt: i + 1,
                                  status: a.status, usage: Usage(), tokensEstimated: false, costUSD: 0, ttfbMs: nil,
                                  totalMs: total))
        }
        let reported = usage
        let estimatedUsage = Usage(promptTokens: input.rawBody.count / 4,
                                   completionTokens: (streaming ? streamedBytes : body.count) / 16)
        rows.append(LedgerRow(timeMs: wall, requestID: requestID, route: input.model, provider: current.provider.name,
                              model: current.model, streamed: input.stream, outcome: outcome,
                              attempt: rows.count + 1, status: status, usage: reported ?? estimatedUsage,
                              tokensEstimated: reported == nil, costUSD: 0, ttfbMs: nil, totalMs: total))
        let box = LoopBound(then)
        let remaining = Counter(rows.count)
        for row in rows {
            ledger.record(row, callbackQueue: response.loop.queue) { [gateway] error in
                if let error { gateway.logger.error("ledger write failed: \(error)") }
                if remaining.decrement() == 0 { box.value() }
            }
        }
    }
}

/// A countdown shared by ledger callbacks that all run on one loop queue.
final class Counter: @unchecked Sendable {
    private var value: Int
    init(_ value: Int) { self.value = value }
    func decrement() -> Int {
        value -= 1
        return value
    }
}

func makeRequestID() -> String {
    var generator = SystemRandomNumberGenerator()
    let n = generator.next() as UInt64
    let hex = String(n, radix: 16)
    return "req_" + String(repeating: "0", count: 16 - hex.count) + hex
}

#if canImport(Glibc)
import Glibc
#endif

public func wallClockMilliseconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Double(ts.tv_sec) * 1000 + Double(ts.tv_nsec) / 1e6
}

public func wallClockSeconds() -> Double { wallClockMilliseconds() / 1000 }
