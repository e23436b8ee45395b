import CShims
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import TollgateCore

/// One socket of the plain-HTTP client: connects, writes a request, reads its response into
/// the transfer, then waits idle (still watched, so a close by the server is seen) for the
/// next. Lives on the loop's queue.
final class PlainConnection {
    let fd: Int32
    let key: String
    unowned let client: PlainHTTPClient
    private(set) var transfer: UpstreamTransfer?
    private enum State { case connecting, sending, receiving, idle, closed }
    private var state = State.connecting
    private var parser = ResponseParser()
    private var output: [UInt8] = []
    private var sent = 0
    /// Response bytes read but not taken (the transfer paused); given again on resume.
    private var held: [UInt8] = []
    private var readingPaused = false
    /// What the loop's epoll set watches for this socket (nil: not in the set).
    private var watched: (read: Bool, write: Bool)?
    /// Inside `feed`: a resume asked for meanwhile waits for the end of the batch.
    private var feeding = false
    /// The connection carried a response before this request (a failure before any byte of
    /// the answer is then retried once on a new connection: the server may have closed it).
    private var reused = false
    private var addressIndex = 0
    /// Monotonic ns by which the connect, or else the whole transfer, must be done.
    private(set) var deadline: UInt64?
    private var transferDeadline: UInt64 = 0

    init(fd: Int32, key: String, client: PlainHTTPClient) {
        self.fd = fd
        self.key = key
        self.client = client
    }

    // MARK: starting

    /// A new socket whose connect is under way (or done) for `transfer`.
    func connect(_ transfer: UpstreamTransfer, addressIndex: Int, inProgress: Bool) {
        self.addressIndex = addressIndex
        attach(transfer)
        let now = DispatchTime.now().uptimeNanoseconds
        if inProgress {
            state = .connecting
            let connectBy = now + Self.nanoseconds(transfer.plain!.connectTimeoutSeconds)
            setDeadline(min(connectBy, transferDeadline))
            watch(read: true, write: true)
        } else {
            watch(read: true, write: false)
            startSending()
        }
    }

    /// An idle connection takes `transfer`.
    func begin(_ transfer: UpstreamTransfer, reused: Bool) {
        self.reused = reused
        attach(transfer)
        startSending()
    }

    private func attach(_ transfer: UpstreamTransfer) {
        self.transfer = transfer
        transfer.connection = self
        parser = ResponseParser()
        held.removeAll()
        readingPaused = false
        output = transfer.plain!.bytes
        sent = 0
        transferDeadline = DispatchTime.now().uptimeNanoseconds + Self.nanoseconds(transfer.plain!.timeoutSeconds)
    }

    private func startSending() {
        state = .sending
        setDeadline(transferDeadline)
        writeOutput()
    }

    private func setDeadline(_ at: UInt64) {
        deadline = at
        client.armTimer(at)
    }

    /// Changes what the epoll set watches, only when it differs (a reused connection costs no
    /// epoll change). Neither: out of the set, so a paused socket's hang-up cannot spin the loop.
    private func watch(read: Bool, write: Bool) {
        guard read || write else {
            if watched != nil { client.loop.unwatchExternal(fd) }
            watched = nil
            return
        }
        if let current = watched, current.read == read, current.write == write { return }
        client.loop.watchExternal(fd, read: read, write: write)
        watched = (read, write)
    }

    /// Whether the socket is in the epoll set (closing it must take it out first).
    var isWatched: Bool { watched != nil }

    static func nanoseconds(_ seconds: Double) -> UInt64 {
        seconds <= 0 ? UInt64.max / 2 : UInt64(min(seconds, 1e9) * 1e9)
    }

    // MARK: readiness

    func handle(_ events: LoopEvents) {
        switch state {
        case .connecting:
            guard events.contains(.writable) || events.contains(.error) || events.contains(.hangup) else { return }
            let error = tg_socket_error(fd)
            if error != 0 { return connectFailed(errno: error) }
            startSending()
        case .sending:
            if events.contains(.writable) { writeOutput() }
            if state == .sending, events.contains(.readable) || events.contains(.hangup) || events.contains(.error) {
                readAvailable()  // an early answer, or the server gave up on the request
            }
        case .receiving:
            guard !readingPaused else { return }
            readAvailable()
        case .idle:
            // Idle: any readiness is the server closing it (or sending what it should not).
            closeIdle()
        case .closed:
            return
        }
    }

    private func writeOutput() {
        while sent < output.count {
            let n = output.withUnsafeBytes { tg_send(fd, $0.baseAddress! + sent, $0.count - sent) }
            if n > 0 {
                sent += n
                continue
            }
            if n < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                if errno == EINTR { continue }
                watch(read: !readingPaused, write: true)
                return
            }
            let code = n < 0 ? errno : EPIPE
            if retryOnNewConnection() { return }
            return fail(UpstreamError(kind: .io, curlCode: 55, message: "Failed sending data to the peer: \(PlainHTTPClient.describe(code))"))
        }
        output = []
        state = .receiving
        watch(read: !readingPaused, write: false)
    }

    private func readAvailable() {
        let buffer = client.readBuffer
        for _ in 0..<4 {
            let n = recv(fd, buffer.baseAddress, buffer.count, 0)
            if n > 0 {
                feed(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
                guard state == .receiving || state == .sending, !readingPaused, n == buffer.count else { return }
                continue
            }
            if n < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return }
            let code = n < 0 ? errno : 0
            return endOfStream(errno: code)
        }
    }

    /// The server closed the connection (`errno` 0) or it broke.
    private func endOfStream(errno code: Int32) {
        if parser.finishAtClose() { return complete(reusable: false) }
        if !parser.receivedAny, retryOnNewConnection() { return }
        let reason = code == 0 ? "" : ": " + PlainHTTPClient.describe(code)
        let error: UpstreamError
        if !parser.receivedAny {
            error = UpstreamError(kind: .io, curlCode: code == 0 ? 52 : 56,
                                  message: code == 0 ? "Server returned nothing (no headers, no data)" : "Failure when receiving data from the peer\(reason)")
        } else if let missing = parser.bytesMissing, code == 0 {
            error = UpstreamError(kind: .io, curlCode: 18, message: "Transferred a partial file: transfer closed with \(missing) bytes remaining to read")
        } else {
            error = UpstreamError(kind: .io, curlCode: code == 0 ? 18 : 56,
                                  message: code == 0 ? "Transferred a partial file: the connection closed before the response ended" : "Failure when receiving data from the peer\(reason)")
        }
        fail(error)
    }

    /// Gives `bytes` to the parser and the transfer.
    private func feed(_ bytes: UnsafeRawBufferPointer) {
        guard let transfer else { return close() }
        feeding = true
        defer { feeding = false }
        let result: (consumed: Int, stop: ResponseParser.Stop)
        do {
            result = try parser.feed(bytes, head: { status, headers in
                transfer.receivedHead(status: status, headers: headers)
                return transfer.state == .running
            }, body: { piece in
                switch transfer.receivedBody(piece) {
                case .taken: .taken
                case .pause: .pause
                case .stop: .stop
                }
            })
        } catch {
            guard case .malformed(let message) = error else { return }
            return fail(UpstreamError(kind: .other, curlCode: 8, message: "Weird server reply: \(message)"))
        }
        switch result.stop {
        case .consumedAll:
            if state == .sending { output = [] }  // answered before the request was all sent
        case .complete:
            complete(reusable: parser.keepAlive && result.consumed == bytes.count && state == .receiving)
        case .paused:
            held = Array(UnsafeRawBufferPointer(rebasing: bytes[result.consumed...]))
            pauseReading()
        case .stopped:
            // The receiver let go of the transfer mid-response: the connection cannot be reused.
            self.transfer = nil
            close()
        }
    }

    // MARK: back-pressure

    private func pauseReading() {
        guard !readingPaused else { return }
        readingPaused = true
        watch(read: false, write: false)
    }

    /// Gives the held bytes again, then reads the socket again.
    func resumeReading() {
        guard readingPaused, state == .receiving || state == .sending else { return }
        if feeding {
            let box = LoopBound(self)
            client.loop.atEndOfBatch { box.value.resumeReading() }
            return
        }
        readingPaused = false
        if !held.isEmpty {
            let bytes = held
            held = []
            bytes.withUnsafeBytes { feed($0) }
            guard !readingPaused, state == .receiving || state == .sending else { return }
        }
        watch(read: true, write: state == .sending)
    }

    // MARK: ending

    private func complete(reusable: Bool) {
        let transfer = self.transfer
        detach()
        if reusable {
            state = .idle
            reused = true
            readingPaused = false
            watch(read: true, write: false)
            client.recycle(self)
        } else {
            close()
        }
        transfer?.finished(error: nil)
    }

    private func fail(_ error: UpstreamError) {
        let transfer = self.transfer
        detach()
        close()
        transfer?.finished(error: error)
    }

    private func connectFailed(errno code: Int32) {
        guard let transfer, let plain = transfer.plain else { return close() }
        detach()
        close()
        if addressIndex + 1 < plain.target.addresses.count {
            return client.open(transfer, addressIndex: addressIndex + 1)
        }
        transfer.finished(error: PlainHTTPClient.connectError(target: plain.target, address: plain.target.addresses[addressIndex],
                                                            errno: code))
    }

    /// A reused connection failed before any byte of the answer: the server had closed it.
    /// The request goes again on a new connection, once.
    private func retryOnNewConnection() -> Bool {
        guard reused, !parser.receivedAny, let transfer, transfer.state == .running else { return false }
        detach()
        close()
        client.open(transfer, addressIndex: 0)
        return true
    }

    func deadlinePassed() {
        guard let transfer, let plain = transfer.plain else { return }
        let message = state == .connecting
            ? "Connection timed out after \(Int(plain.connectTimeoutSeconds * 1000)) milliseconds"
            : "Operation timed out after \(Int(plain.timeoutSeconds * 1000)) milliseconds"
        fail(UpstreamError(kind: .timeout, curlCode: 28, message: message))
    }

    /// The transfer was cancelled: its response is not read to the end, so the connection goes.
    func abandon() {
        guard transfer != nil else { return }
        detach()
        close()
    }

    private func detach() {
        transfer?.connection = nil
        transfer = nil
        deadline = nil
        output = []
        held = []
    }

    private func closeIdle() {
        guard state == .idle else { return }
        close()
    }

    func close() {
        guard state != .closed else { return }
        let wasBusy = state != .idle
        state = .closed
        detach()
        client.closed(self, wasBusy: wasBusy)
    }
}
