import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import TollgateCore

/// One client connection: reads and parses requests, hands them to the handler one at a
/// time (pipelined requests are answered in order) and writes responses. Its socket is in
/// its loop's epoll set; output is sent at the end of the loop's batch (coalesced).
/// Lives on its loop's queue; every method must be called there.
final class Connection {
    let fd: Int32
    let loop: EventLoop
    unowned let server: HTTPServer
    private var watchingWrite = false
    private var readSuspended = false
    private var flushPending = false
    private var parser: HTTPParser
    private var pending: [Item] = []
    private var current: HTTPResponseWriter?
    private var out: [UInt8] = []
    private var outOffset = 0
    private var processing = false
    private var stopParsing = false
    private var closeWhenFlushed = false
    private var lingering = false
    /// The client half-closed after complete requests: answer them, then close.
    private var inputEnded = false
    private(set) var closed = false
    private var deadline: UInt64 = 0
    private var deadlineKind: DeadlineKind = .none
    /// When the request head being received must be complete (0: none is due).
    private var headDue: UInt64 = 0
    /// When the request body being received must be complete (0: none is due).
    private var bodyDue: UInt64 = 0
    /// Bytes reserved with the server for the body being received.
    private var bodyReserved = 0
    /// The client's address, read once at accept time and given to each request.
    private let peer: String?
    /// The peer's identity, looked up on first use (a netlink round trip for TCP) and kept.
    private var identity: PeerIdentity??
    private var identityHasPID = false
    /// Pipelined requests parsed ahead of the one being answered before reading pauses.
    static let maxQueued = 32

    enum Item {
        case request(HTTPRequest, reserved: Int)
        case error(GatewayError)
    }

    enum DeadlineKind { case none, idle, header, body, write, linger }

    func peerIdentity(needPID: Bool) -> PeerIdentity? {
        if let known = identity, !needPID || identityHasPID || known == nil { return known }
        let found = Socket.peerIdentity(fd, needPID: needPID)
        identity = .some(found)
        identityHasPID = needPID
        return found
    }

    init(fd: Int32, loop: EventLoop, server: HTTPServer) {
        self.fd = fd
        self.loop = loop
        self.server = server
        peer = Socket.peerAddress(fd)
        parser = HTTPParser(maxHeaderBytes: server.settings.maxHeaderBytes, maxBodyBytes: server.settings.maxBodyBytes)
    }

    var bufferedBytes: Int { out.count - outOffset }

    func start() {
        loop.assertOnLoop()
        loop.watch(self, read: true, write: false, adding: true)
        // A new connection owes its first request head within the header timeout.
        headDue = Self.now + Self.nanoseconds(server.settings.headerTimeoutSeconds)
        refreshDeadline()
    }

    /// Readiness from the loop's epoll set.
    func handle(events: LoopEvents) {
        guard !closed else { return }
        if events.contains(.writable) { flush() }
        if inputEnded, !events.isDisjoint(with: [.hangup, .error]) { return close() }
        if !closed, !events.isDisjoint(with: [.readable, .hangup, .error]) { readable() }
    }

    /// Tells the loop what to watch: input unless reading is paused, output while some waits.
    private func updateInterest() {
        guard !closed else { return }
        loop.watch(self, read: !readSuspended && !inputEnded, write: watchingWrite, adding: false)
    }

    // MARK: reading

    private func readable() {
        guard !closed else { return }
        let result = Socket.read(fd, into: loop.readBuffer)
        switch result {
        case .bytes(let n):
            // After a final error, what the client still sends is discarded.
            if lingering || stopParsing { return }
            // Any byte, an empty line too, starts the clock of the next request head.
            if headDue == 0, bodyDue == 0, !parser.isReadingBody {
                headDue = Self.now + Self.nanoseconds(server.settings.headerTimeoutSeconds)
            }
            parser.append(UnsafeRawBufferPointer(rebasing: loop.readBuffer[0..<n]))
            parseAvailable()
        case .wouldBlock:
            return
        case .closed:
            if lingering || parser.hasPartialRequest { return close() }
            // A half-close after complete requests: they are still answered.
            inputEnded = true
            updateInterest()
            closeIfAnswered()
        case .failed:
            close()
        }
    }

    private func parseAvailable() {
        while !stopParsing {
            let parsed: HTTPRequest?
            do {
                parsed = try parser.next()
            } catch {
                fail(error.gatewayError)
                break
            }
            guard var request = parsed else { break }
            request.peer = peer
            pending.append(.request(request, reserved: bodyReserved))
            bodyReserved = 0
            headDue = 0
            bodyDue = 0
        }
        if !stopParsing { reserveBody() }
        if parser.isReadingBody, bodyDue == 0 {
            headDue = 0
            bodyDue = Self.now + Self.nanoseconds(server.settings.bodyTimeoutSeconds)
        } else if !parser.isReadingBody, parser.hasPartialRequest, headDue == 0 {
            headDue = Self.now + Self.nanoseconds(server.settings.headerTimeoutSeconds)
        }
        if pending.count >= Self.maxQueued, !readSuspended {
            readSuspended = true
            updateInterest()
        }
        processNext()
    }

    /// Reserves what the body being received is known to need from the server's budget for all
    /// bodies in flight; beyond it the request gets a 503 (after the ones before it).
    private func reserveBody() {
        let claim = parser.bodyClaim
        guard claim > bodyReserved else { return }
        if server.reserveBody(claim - bodyReserved) {
            bodyReserved = claim
        } else {
            fail(GatewayError(status: 503, type: "service_unavailable", code: "request_bodies_over_capacity",
                              message: "Too many request bodies are being received at once "
                                + "(server.max_buffered_body_bytes); retry shortly.", retryAfter: 1))
        }
    }

    /// The input cannot go on: queues `error` behind the requests already parsed and stops
    /// reading requests (and drops the partial one, with its reservation).
    private func fail(_ error: GatewayError) {
        pending.append(.error(error))
        stopParsing = true
        releaseBody()
    }

    private func releaseBody() {
        server.releaseBody(bodyReserved)
        bodyReserved = 0
        parser = HTTPParser(maxHeaderBytes: server.settings.maxHeaderBytes, maxBodyBytes: server.settings.maxBodyBytes)
        headDue = 0
        bodyDue = 0
    }

    /// Drops queued requests, giving their body reservations back.
    private func dropPending() {
        for case .request(_, let reserved) in pending { server.releaseBody(reserved) }
        pending.removeAll()
    }

    // MARK: dispatching requests

    private func processNext() {
        guard !processing else { return }
        processing = true
        defer { processing = false }
        while current == nil, !closed, !closeWhenFlushed, !pending.isEmpty {
            let item = pending.removeFirst()
            switch item {
            case .error(let error):
                dropPending()
                sendFinalError(error)
            case .request(let request, let reserved):
                server.releaseBody(reserved)
                let writer = HTTPResponseWriter(connection: self, request: request)
                current = writer
                server.requestStarted()
                server.handler.handle(request, writer)
            }
        }
        if readSuspended, pending.count < Self.maxQueued / 2 {
            readSuspended = false
            updateInterest()
        }
        if current == nil, pending.isEmpty, parser.expectsContinue, !closeWhenFlushed, !stopParsing {
            parser.continueSent()
            write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
        }
        refreshDeadline()
    }

    /// Answers a request the parser refused, then closes the connection.
    private func sendFinalError(_ error: GatewayError) {
        var out: [UInt8] = []
        HTTPResponseHead.encode(status: error.status, headers: error.responseHeaders, contentLength: error.body.count,
                                keepAlive: false, date: loop.date, into: &out)
        out.append(contentsOf: error.body)
        server.log(.init(method: "-", path: "-", status: error.status, note: error.message))
        closeWhenFlushed = true
        stopParsing = true
        releaseBody()
        write(out)
    }

    /// Whether the response to `request` leaves the connection open. Requests queued behind
    /// it (a malformed one's 400 too) are answered first either way.
    func shouldKeepAlive(after request: HTTPRequest) -> Bool {
        request.keepAlive && !closeWhenFlushed && !server.isDraining && !(inputEnded && pending.isEmpty)
    }

    /// Called by the writer when the current response is complete.
    func responseFinished(keepAlive: Bool) {
        if let writer = current, writer.onUndelivered != nil {
            if bufferedBytes > 0 { unsent.append((writer, out.count)) } else { writer.delivered(true) }
        }
        current = nil
        server.requestFinished()
        if !keepAlive {
            closeWhenFlushed = true
            stopParsing = true
            dropPending()
            releaseBody()
            if bufferedBytes == 0 { flush() }
            return
        }
        processNext()
    }

    // MARK: writing

    /// Finished responses whose last bytes are still in `out`, with the offset where they end.
    private var unsent: [(writer: HTTPResponseWriter, end: Int)] = []

    /// Tells finished responses whose bytes have all been sent; on close, the rest that they were not.
    private func settleUnsent(closing: Bool) {
        guard !unsent.isEmpty else { return }
        if closing {
            for entry in unsent { entry.writer.delivered(false) }
            unsent.removeAll()
            return
        }
        while let first = unsent.first, first.end <= outOffset || bufferedBytes == 0 {
            first.writer.delivered(true)
            unsent.removeFirst()
        }
    }

    /// Queues bytes for the client; they leave at the end of the loop's batch.
    func write(_ bytes: [UInt8]) {
        guard !closed, !bytes.isEmpty else { return }
        if out.isEmpty { outOffset = 0 }
        out.append(contentsOf: bytes)
        if !flushPending {
            flushPending = true
            loop.needsFlush(self)
        }
    }

    /// Sends what it can of the queued output; the rest waits for the socket to be writable.
    func flush() {
        flushPending = false
        guard !closed else { return }
        while bufferedBytes > 0 {
            let result = out.withUnsafeBytes { Socket.send(fd, UnsafeRawBufferPointer(rebasing: $0[outOffset...])) }
            switch result {
            case .bytes(let n):
                outOffset += n
            case .wouldBlock:
                settleUnsent(closing: false)
                server.noteBuffered(bufferedBytes)
                if !watchingWrite {
                    watchingWrite = true
                    updateInterest()
                }
                refreshDeadline()
                return
            case .closed, .failed:
                close()
                return
            }
        }
        settleUnsent(closing: false)
        out.removeAll(keepingCapacity: out.capacity <= 256 << 10)
        outOffset = 0
        if watchingWrite {
            watchingWrite = false
            updateInterest()
        }
        if closeWhenFlushed, current == nil {
            if inputEnded { close() } else { beginLingeringClose() }
            return
        }
        if inputEnded, current == nil, pending.isEmpty { return close() }
        refreshDeadline()
        current?.drained()
    }

    // MARK: closing

    /// After the client's half-close: closes once every request it sent is answered and sent.
    private func closeIfAnswered() {
        if current == nil, pending.isEmpty, bufferedBytes == 0 { close() }
    }

    /// Half-closes and discards what the client still sends for a moment, so the final
    /// response is not destroyed by a reset caused by unread input.
    private func beginLingeringClose() {
        guard !closed, !lingering else { return }
        lingering = true
        // Its requests are over: the slot is free for a new client while it lingers (briefly).
        server.connectionClosed()
        shutdown(fd, Int32(SHUT_WR))
        if readSuspended {
            readSuspended = false
            updateInterest()
        }
        setDeadline(.linger)
    }

    /// Closes at once; the handler of a request in flight hears that the client is gone.
    func close() {
        guard !closed else { return }
        closed = true
        loop.connections[fd] = nil
        if !lingering { server.connectionClosed() }
        if let writer = current {
            current = nil
            server.requestFinished()
            writer.clientDidGo()
        }
        settleUnsent(closing: true)
        dropPending()
        server.releaseBody(bodyReserved)
        bodyReserved = 0
        loop.unwatch(fd)
        Glibc.close(fd)
        // Events already read in this batch may still name this connection.
        loop.retainUntilBatchEnds(self)
    }

    // MARK: timeouts

    static var now: UInt64 { DispatchTime.now().uptimeNanoseconds }
    static func nanoseconds(_ seconds: Double) -> UInt64 { UInt64(max(0, seconds) * 1e9) }

    private func setDeadline(_ kind: DeadlineKind, at due: UInt64? = nil) {
        let s = server.settings
        let seconds: Double
        switch kind {
        case .none: deadlineKind = .none; deadline = 0; return
        case .idle, .write: seconds = s.idleTimeoutSeconds
        case .header: seconds = s.headerTimeoutSeconds
        case .body: seconds = s.bodyTimeoutSeconds
        case .linger: seconds = min(2, s.idleTimeoutSeconds)
        }
        deadlineKind = kind
        deadline = due ?? Self.now + Self.nanoseconds(seconds)
    }

    private func refreshDeadline() {
        if closed || lingering { return }
        if current != nil {
            if bufferedBytes > 0 { setDeadline(.write) } else if deadlineKind != .none { setDeadline(.none) }
        } else if bufferedBytes > 0 {
            setDeadline(.write)
        } else if bodyDue != 0 {
            // A total for the whole body (a pause limit alone lets a byte now and then hold it open).
            setDeadline(.body, at: bodyDue)
        } else if headDue != 0 {
            // From the head's first byte; leading empty lines count, and bytes do not extend it.
            setDeadline(.header, at: headDue)
        } else {
            setDeadline(.idle)
        }
    }

    func checkDeadline(now: UInt64) {
        guard deadline != 0, now >= deadline, !closed else { return }
        switch deadlineKind {
        case .header, .body:
            let what = deadlineKind == .header ? "request headers" : "request body"
            dropPending()
            sendFinalError(.requestTimeout("Timed out waiting for the \(what)."))
            if !lingering { setDeadline(.write) }
        case .idle, .write, .linger, .none:
            close()
        }
    }
}
