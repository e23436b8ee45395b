import CCurl
import CShims
import Dispatch
import TollgateCore

/// Receives a transfer's events, on the loop's queue, as the bytes arrive.
public protocol UpstreamTransferDelegate: AnyObject {
    func transferDidReceiveHead(_ transfer: UpstreamTransfer, status: Int, headers: HTTPHeaders)
    func transferDidReceive(_ transfer: UpstreamTransfer, bytes: UnsafeRawBufferPointer)
    /// The transfer ended: `error` is nil when the whole response arrived.
    func transferDidComplete(_ transfer: UpstreamTransfer, error: UpstreamError?)
}

/// One upstream HTTP exchange on a curl easy handle. Lives on its client's loop queue.
public final class UpstreamTransfer {
    let easy: UnsafeMutableRawPointer
    unowned let client: UpstreamClient
    weak var delegate: (any UpstreamTransferDelegate)?
    let errorBuffer: UnsafeMutablePointer<CChar>
    public private(set) var status = 0
    public private(set) var headers = HTTPHeaders()
    private var headDelivered = false
    var state: State = .running
    var started = false
    private var pauseRequested = false
    private var paused = false

    enum State { case running, cancelled, done }

    init(easy: UnsafeMutableRawPointer, client: UpstreamClient, delegate: any UpstreamTransferDelegate) {
        self.easy = easy
        self.client = client
        self.delegate = delegate
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        errorBuffer.deallocate()
    }

    public var isRunning: Bool { state == .running }

    /// Stops the transfer now; the delegate hears nothing more. Safe to call from any delegate callback.
    public func cancel() {
        guard state == .running else { return }
        state = .cancelled
        client.remove(self)
    }

    /// Starts the transfer on its client (see `UpstreamClient.makeTransfer`).
    public func start() { client.start(self) }

    // MARK: curl callbacks (called inside curl_multi_socket_action, on the loop's queue)

    func receivedHeaderLine(_ line: UnsafeRawBufferPointer) {
        guard state == .running else { return }
        var end = line.count
        while end > 0, line[end - 1] == 0x0A || line[end - 1] == 0x0D { end -= 1 }
        if end == 0 {
            if status >= 200 { deliverHead() }
            return
        }
        // Read as bytes: only the name and value become strings.
        if end >= 5, line[0] == UInt8(ascii: "H"), line[1] == UInt8(ascii: "T"), line[2] == UInt8(ascii: "T"),
           line[3] == UInt8(ascii: "P"), line[4] == UInt8(ascii: "/") {
            var i = 5
            while i < end, line[i] != 0x20 { i += 1 }
            while i < end, line[i] == 0x20 { i += 1 }
            var code = 0
            var digits = 0
            while i < end, digits < 3, line[i] >= 0x30, line[i] <= 0x39 {
                code = code * 10 + Int(line[i] - 0x30)
                digits += 1
                i += 1
            }
            status = digits == 3 ? code : 0
            headers = HTTPHeaders()
            headers.reserveCapacity(12)
            return
        }
        guard let colon = (0..<end).first(where: { line[$0] == UInt8(ascii: ":") }) else { return }
        var valueStart = colon + 1
        var valueEnd = end
        while valueStart < valueEnd, line[valueStart] == 0x20 || line[valueStart] == 0x09 { valueStart += 1 }
        while valueEnd > valueStart, line[valueEnd - 1] == 0x20 || line[valueEnd - 1] == 0x09 { valueEnd -= 1 }
        headers.add(String(decoding: UnsafeRawBufferPointer(rebasing: line[0..<colon]), as: UTF8.self),
                    String(decoding: UnsafeRawBufferPointer(rebasing: line[valueStart..<valueEnd]), as: UTF8.self))
    }

    /// What the write callback tells curl: every byte taken, pause (curl keeps the bytes and
    /// offers them again after `resume()`), or stop.
    enum BodyReply { case taken, pause, stop }

    func receivedBody(_ bytes: UnsafeRawBufferPointer) -> BodyReply {
        guard state == .running else { return .stop }
        if pauseRequested {
            paused = true
            return .pause
        }
        if !headDelivered { deliverHead() }
        delegate?.transferDidReceive(self, bytes: bytes)
        return state == .running ? .taken : .stop
    }

    /// Stops reading the upstream after the bytes being delivered now: curl leaves the rest in
    /// the socket, so a slow client cannot make tollgate buffer a fast upstream.
    public func pause() {
        guard state == .running else { return }
        pauseRequested = true
    }

    /// Reads the upstream again after `pause()`. Call it outside delegate callbacks.
    public func resume() {
        guard pauseRequested else { return }
        pauseRequested = false
        guard paused, state == .running else { return }
        paused = false
        client.unpause(self)
    }

    /// Whether the transfer is holding the upstream back.
    public var isPaused: Bool { pauseRequested }

    private func deliverHead() {
        guard !headDelivered else { return }
        headDelivered = true
        delegate?.transferDidReceiveHead(self, status: status, headers: headers)
    }

    func finished(code: CURLcode) {
        guard state == .running else { return }
        state = .done
        let error: UpstreamError?
        if code == CURLE_OK {
            if !headDelivered { deliverHead() }
            error = nil
        } else {
            error = UpstreamError(code: code, detail: String(cString: errorBuffer))
        }
        delegate?.transferDidComplete(self, error: error)
    }
}
