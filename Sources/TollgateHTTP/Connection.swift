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
    private(set) var closed = false
    private var deadline: UInt64 = 0
    private var deadlineKind: DeadlineKind = .none
    /// The client's address, read once at accept time and given to each request.
    private let peer: String?
    /// Pipelined requests parsed ahead of the one being answered before reading pauses.
    static let maxQueued = 32

    enum Item {
        case request(HTTPRequest)
        case error(GatewayError)
    }

    enum DeadlineKind { case none, idle, header, body, write, linger }

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
        setDeadline(.idle)
    }

    /// Readiness from the loop's epoll set.
    func handle(events: LoopEvents) {
        guard !closed else { return }
        if events.contains(.writable) { flush() }
        if !closed, !events.isDisjoint(with: [.readable, .hangup, .error]) { readable() }
    }

    /// Tells the loop what to watch: input unless reading is paused, output while some waits.
    private func updateInterest() {
        guard !closed else { return }
        loop.watch(self, read: !readSuspended, write: watchingWrite, adding: false)
    }

    // MARK: reading

    private func readable() {
        guard !closed else { return }
        let result = Socket.read(fd, into: loop.readBuffer)
        switch result {
        case .bytes(let n):
            if lingering { return }
            parser.append(UnsafeRawBufferPointer(rebasing: loop.readBuffer[0..<n]))
            parseAvailable()
        case .wouldBlock:
            return
        case .closed, .failed:
            close()
        }
    }

    private func parseAvailable() {
        while !stopParsing {
            do {
                guard var request = try parser.next() else { break }
                request.peer = peer
                pending.append(.request(request))
            } catch {
                pending.append(.error(error.gatewayError))
                stopParsing = true
            }
        }
        if pending.count >= Self.maxQueued, !readSuspended {
            readSuspended = true
            updateInterest()
        }
        processNext()
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
                pending.removeAll()
                sendFinalError(error)
            case .request(let request):
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
        if current == nil, pending.isEmpty, parser.expectsContinue, !closeWhenFlushed {
            parser.continueSent()
            write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
        }
        refreshDeadline()
    }

    /// Answers a request the parser refused, then closes the connection.
    private func sendFinalError(_ error: GatewayError) {
        var out: [UInt8] = []
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        HTTPResponseHead.encode(status: error.status, headers: headers, contentLength: error.body.count,
                                keepAlive: false, date: loop.date, into: &out)
        out.append(contentsOf: error.body)
        server.log(.init(method: "-", path: "-", status: error.status, note: error.message))
        closeWhenFlushed = true
        stopParsing = true
        write(out)
    }

    func shouldKeepAlive(after request: HTTPRequest) -> Bool {
        request.keepAlive && !stopParsing && !closeWhenFlushed && !server.isDraining
    }

    /// Called by the writer when the current response is complete.
    func responseFinished(keepAlive: Bool) {
        current = nil
        server.requestFinished()
        if !keepAlive {
            closeWhenFlushed = true
            stopParsing = true
            pending.removeAll()
            if bufferedBytes == 0 { flush() }
            return
        }
        processNext()
    }

    // MARK: writing

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
        out.removeAll(keepingCapacity: out.capacity <= 256 << 10)
        outOffset = 0
        if watchingWrite {
            watchingWrite = false
            updateInterest()
        }
        if closeWhenFlushed, current == nil {
            beginLingeringClose()
            return
        }
        refreshDeadline()
        current?.drained()
    }

    // MARK: closing

    /// Half-closes and discards what the client still sends for a moment, so the final
    /// response is not destroyed by a reset caused by unread input.
    private func beginLingeringClose() {
        guard !closed, !lingering else { return }
        lingering = true
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
        server.connectionClosed()
        if let writer = current {
            current = nil
            server.requestFinished()
            writer.clientDidGo()
        }
        pending.removeAll()
        loop.unwatch(fd)
        Glibc.close(fd)
        // Events already read in this batch may still name this connection.
        loop.retainUntilBatchEnds(self)
    }

    // MARK: timeouts

    private func setDeadline(_ kind: DeadlineKind) {
        let s = server.settings
        let seconds: Double
        switch kind {
        case .none: deadlineKind = .none; deadline = 0; return
        case .idle: seconds = s.idleTimeoutSeconds
        case .header: seconds = s.headerTimeoutSeconds
        case .body: seconds = s.bodyTimeoutSeconds
        case .write: seconds = s.idleTimeoutSeconds
        case .linger: seconds = min(2, s.idleTimeoutSeconds)
        }
        deadlineKind = kind
        deadline = DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)
    }

    private func refreshDeadline() {
        if closed || lingering { return }
        if current != nil {
            if bufferedBytes > 0 { setDeadline(.write) } else if deadlineKind != .none { setDeadline(.none) }
        } else if bufferedBytes > 0 {
            setDeadline(.write)
        } else if parser.isReadingBody {
            setDeadline(.body)
        } else if parser.hasPartialRequest {
            if deadlineKind != .header { setDeadline(.header) }
        } else {
            setDeadline(.idle)
        }
    }

    func checkDeadline(now: UInt64) {
        guard deadline != 0, now >= deadline, !closed else { return }
        switch deadlineKind {
        case .header, .body:
            let what = deadlineKind == .header ? "request headers" : "request body"
            pending.removeAll()
            sendFinalError(.requestTimeout("Timed out waiting for the \(what)."))
            if !lingering { setDeadline(.write) }
        case .idle, .write, .linger, .none:
            close()
        }
    }
}
