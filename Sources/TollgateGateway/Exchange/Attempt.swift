import Dispatch
import TollgateCore
import TollgateHTTP
import TollgateUpstream

/// Hears how one upstream attempt goes, on the loop's queue.
protocol AttemptDelegate: AnyObject {
    /// A response head arrived. Return true to receive the body piece by piece
    /// (`attempt(_:didReceive:)`), false to have it buffered for `attempt(_:didFinish:)`.
    func attempt(_ attempt: Attempt, didReceiveHead status: Int, headers: HTTPHeaders) -> Bool
    func attempt(_ attempt: Attempt, didReceive bytes: UnsafeRawBufferPointer)
    /// The transfer ended: a failure before or during the answer, or the whole (buffered) answer.
    func attempt(_ attempt: Attempt, didFinish result: Result<[UInt8], UpstreamFailure>)
}

/// One upstream transfer of an exchange: the head, the body (whole or relayed as it comes),
/// the first-byte and idle deadlines and the timings for the ledger. Lives on its loop's queue.
final class Attempt: UpstreamTransferDelegate {
    let loop: EventLoop
    let number: Int
    weak var delegate: (any AttemptDelegate)?
    private var transfer: UpstreamTransfer?
    private var firstByteDeadline: Int?
    /// The one scheduled idle check (it re-schedules itself while bytes keep coming).
    private var idleCheck: Int?
    private var idleTimeout: Double = 60
    /// Monotonic nanoseconds of the last byte (or head) from the upstream, or of a resume.
    private var lastByteAt: UInt64 = 0
    private(set) var status = 0
    private(set) var headers = HTTPHeaders()
    private var relaying = false
    private var body: [UInt8] = []
    private(set) var done = false
    /// Monotonic nanoseconds: when it started and when the head arrived (0 until then).
    let startedAt = DispatchTime.now().uptimeNanoseconds
    private(set) var headAt: UInt64 = 0

    /// Largest buffered (non-relayed) upstream answer accepted.
    static let maxBufferedBytes = 64 << 20

    init(number: Int, loop: EventLoop, delegate: any AttemptDelegate) {
        self.number = number
        self.loop = loop
        self.delegate = delegate
    }

    /// Starts the transfer; its events may arrive before this returns (curl is driven inline).
    /// After the head, an upstream silent for `idleTimeout` seconds fails the attempt with `.timeout`.
    func start(_ request: UpstreamRequest, on client: UpstreamClient, firstByteTimeout: Double, idleTimeout: Double = 60) {
        self.idleTimeout = idleTimeout
        let box = LoopBound(self)
        firstByteDeadline = loop.schedule(after: firstByteTimeout) {
            let attempt = box.value
            attempt.firstByteDeadline = nil
            guard attempt.headAt == 0, !attempt.done else { return }
            attempt.fail(.timedOut("The upstream sent nothing within \(firstByteTimeout) s."))
        }
        let transfer = client.makeTransfer(request, delegate: self)
        self.transfer = transfer
        transfer.start()
    }

    /// Abandons the transfer (the client left, or the exchange gave up on it); nothing more is reported.
    func cancel() {
        finishQuietly()
        transfer?.cancel()
        transfer = nil
    }

    /// Stops reporting but lets the transfer read the rest of the body by itself, so the
    /// upstream connection stays reusable (after the stream said it is complete).
    func detach() {
        finishQuietly()
        transfer?.resume()
        transfer = nil
    }

    /// Back-pressure: stop and restart reading the upstream.
    func pause() { transfer?.pause() }
    func resume() {
        // Time spent paused for a slow client is not the upstream's silence.
        lastByteAt = DispatchTime.now().uptimeNanoseconds
        transfer?.resume()
    }
    var isPaused: Bool { transfer?.isPaused ?? false }

    /// Milliseconds from the start to the head, and to now.
    var firstByteMs: Double? { headAt > 0 ? Double(headAt - startedAt) / 1e6 : nil }
    var elapsedMs: Double { Double(DispatchTime.now().uptimeNanoseconds - startedAt) / 1e6 }

    private func finishQuietly() {
        done = true
        if let id = firstByteDeadline { loop.cancelScheduled(id) }
        firstByteDeadline = nil
        if let id = idleCheck { loop.cancelScheduled(id) }
        idleCheck = nil
    }

    /// Schedules the idle check `after` seconds. When it runs it fails the attempt if nothing
    /// came for `idleTimeout`, else schedules itself for the rest: one timer per attempt, not
    /// one per body piece.
    private func scheduleIdleCheck(after seconds: Double) {
        let box = LoopBound(self)
        idleCheck = loop.schedule(after: seconds) {
            let attempt = box.value
            attempt.idleCheck = nil
            guard !attempt.done else { return }
            let now = DispatchTime.now().uptimeNanoseconds
            if attempt.isPaused { attempt.lastByteAt = now }
            let silent = Double(now - attempt.lastByteAt) / 1e9
            if silent >= attempt.idleTimeout * 0.999 {
                return attempt.fail(.timedOut("The upstream sent nothing for \(attempt.idleTimeout) s after it started answering."))
            }
            attempt.scheduleIdleCheck(after: attempt.idleTimeout - silent)
        }
    }

    private func fail(_ failure: UpstreamFailure) {
        guard !done else { return }
        transfer?.cancel()
        transfer = nil
        finishQuietly()
        delegate?.attempt(self, didFinish: .failure(failure))
    }

    // MARK: UpstreamTransferDelegate

    func transferDidReceiveHead(_ transfer: UpstreamTransfer, status: Int, headers: HTTPHeaders) {
        guard transfer === self.transfer, !done else { return }
        if let id = firstByteDeadline { loop.cancelScheduled(id) }
        firstByteDeadline = nil
        headAt = DispatchTime.now().uptimeNanoseconds
        lastByteAt = headAt
        if idleTimeout > 0 { scheduleIdleCheck(after: idleTimeout) }
        self.status = status
        self.headers = headers
        relaying = delegate?.attempt(self, didReceiveHead: status, headers: headers) ?? false
    }

    func transferDidReceive(_ transfer: UpstreamTransfer, bytes: UnsafeRawBufferPointer) {
        guard transfer === self.transfer, !done else { return }
        lastByteAt = DispatchTime.now().uptimeNanoseconds
        if relaying {
            delegate?.attempt(self, didReceive: bytes)
            return
        }
        guard body.count + bytes.count <= Self.maxBufferedBytes else {
            return fail(.answerTooLarge("The upstream answer exceeds \(Self.maxBufferedBytes) bytes."))
        }
        body.append(contentsOf: bytes)
    }

    func transferDidComplete(_ transfer: UpstreamTransfer, error: UpstreamError?) {
        guard transfer === self.transfer, !done else { return }
        self.transfer = nil
        finishQuietly()
        if let error {
            delegate?.attempt(self, didFinish: .failure(Self.failure(error, answered: headAt > 0, status: status)))
            return
        }
        guard status >= 100 else {
            delegate?.attempt(self, didFinish: .failure(.badResponse("The upstream answered without a valid HTTP status line.")))
            return
        }
        delegate?.attempt(self, didFinish: .success(body))
    }

    /// A transport error as a typed failure. Once the upstream has answered, a retry could run
    /// the request twice: only failures before the head, or after an error status, may fail over.
    static func failure(_ error: UpstreamError, answered: Bool, status: Int) -> UpstreamFailure {
        if answered, status < 500 {
            return UpstreamFailure(kind: .cutMidStream, status: status,
                                   error: .badGateway("The upstream connection failed: \(error.message)."))
        }
        switch error.kind {
        case .timeout where !answered:
            return .timedOut("The upstream did not answer in time: \(error.message).")
        case .connect:
            return .connection("Could not connect to the upstream: \(error.message).")
        default:
            return .connection("The upstream connection failed: \(error.message).", code: "upstream_error")
        }
    }
}
