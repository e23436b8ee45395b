import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import CShims
import TollgateCore

/// The HTTP/1.1 server: N event loops, listening sockets, limits, and counters.
/// Shared across queues; its mutable state is atomic or confined to the accept queue.
public final class HTTPServer: @unchecked Sendable {
    public let settings: ServerSettings
    public let loops: [EventLoop]
    let handler: any HTTPHandler
    private let acceptQueue = DispatchQueue(label: "tollgate.accept")
    private var listeners: [any DispatchSourceRead] = []
    private var nextLoop = 0
    private let connectionCount = Atomic<Int>(0)
    private let requestCount = Atomic<Int>(0)
    private let requestTotal = Atomic<Int>(0)
    private let draining = Atomic<Bool>(false)
    private let peakBuffered = Atomic<Int>(0)
    private let bufferedBodies = Atomic<Int>(0)
    /// The accept call: a new non-blocking fd, or -1 with `errno` set (tests inject failures).
    private let acceptCall: @Sendable (Int32) -> Int32
    /// How long accepting pauses when the process is out of file descriptors.
    var acceptBackoffSeconds = 0.25
    /// At most one "out of file descriptors" line per this many seconds.
    var descriptorLogInterval = 10.0
    // Accept queue only.
    private var acceptPaused = false
    private var lastDescriptorLog: UInt64?
    /// Times accepting paused for lack of descriptors (for tests and diagnostics).
    private(set) var acceptPauses = 0
    /// Receives one line per request the server answers by itself (malformed input, overload).
    public var logger: (@Sendable (ServerLogEntry) -> Void)?

    public convenience init(settings: ServerSettings, loops: Int, handler: any HTTPHandler) {
        self.init(settings: settings, loops: loops, handler: handler, accept: { tg_accept4($0) })
    }

    init(settings: ServerSettings, loops: Int, handler: any HTTPHandler, accept: @escaping @Sendable (Int32) -> Int32) {
        self.settings = settings
        self.handler = handler
        acceptCall = accept
        let count = max(1, loops)
        self.loops = (0..<count).map { EventLoop(index: $0) }
        let shortest = min(settings.headerTimeoutSeconds, settings.bodyTimeoutSeconds, settings.idleTimeoutSeconds)
        let interval = max(0.02, min(0.25, shortest / 4))
        for loop in self.loops {
            let linger = Int64(settings.loopLingerMicroseconds) * 1000
            loop.queue.sync {
                loop.lingerNanoseconds = linger
                loop.startSweeping(interval: interval)
            }
        }
    }

    public var openConnections: Int { connectionCount.load(ordering: .relaxed) }
    public var requestsInFlight: Int { requestCount.load(ordering: .relaxed) }
    /// Requests started since the server was created (for a requests-per-second figure).
    public var requestsStarted: Int { requestTotal.load(ordering: .relaxed) }
    /// The most response bytes one connection has held unsent since the start (or the last
    /// `resetPeakBufferedBytes`): what slow clients cost in memory.
    public var peakBufferedBytes: Int { peakBuffered.load(ordering: .relaxed) }
    public func resetPeakBufferedBytes() { peakBuffered.store(0, ordering: .relaxed) }
    /// Bytes reserved for request bodies still arriving, over all connections.
    public var bufferedBodyBytes: Int { bufferedBodies.load(ordering: .relaxed) }

    /// Reserves `bytes` more for a body being received; false when that would pass
    /// `max_buffered_body_bytes` (nothing is reserved then).
    func reserveBody(_ bytes: Int) -> Bool {
        var seen = bufferedBodies.load(ordering: .relaxed)
        while true {
            guard seen + bytes <= settings.maxBufferedBodyBytes else { return false }
            let (exchanged, original) = bufferedBodies.compareExchange(expected: seen, desired: seen + bytes,
                                                                       ordering: .relaxed)
            if exchanged { return true }
            seen = original
        }
    }

    func releaseBody(_ bytes: Int) {
        if bytes > 0 { bufferedBodies.subtract(bytes, ordering: .relaxed) }
    }

    /// Called by a connection whose unsent output grew.
    func noteBuffered(_ bytes: Int) {
        var seen = peakBuffered.load(ordering: .relaxed)
        while bytes > seen {
            let (exchanged, original) = peakBuffered.compareExchange(expected: seen, desired: bytes, ordering: .relaxed)
            if exchanged { break }
            seen = original
        }
    }
    var isDraining: Bool { draining.load(ordering: .relaxed) }

    /// Binds `address` and starts accepting. Returns the bound port (useful with port 0).
    @discardableResult
    public func start(listen address: ListenAddress) throws(SocketError) -> UInt16 {
        let fd = try Socket.listen(host: address.host, port: address.port, reusePort: false)
        let port = Socket.localPort(fd) ?? address.port
        start(listeningSockets: [fd])
        return port
    }

    /// Accepts on sockets that are already listening (for example passed in by systemd).
    public func start(listeningSockets fds: [Int32]) {
        if let warning = Self.raiseDescriptorLimit(needed: settings.maxConnections) {
            log(ServerLogEntry(method: "-", path: "-", status: 0, note: warning))
        }
        // `listeners` belongs to the accept queue (accepting pauses and resumes them there), and
        // this may be called again for another socket (the Unix listener) while accepting runs.
        acceptQueue.sync {
            for fd in fds {
                _ = tg_set_nonblocking(fd)
                let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: acceptQueue)
                source.setEventHandler { [self] in acceptAll(fd) }
                source.setCancelHandler { Glibc.close(fd) }
                listeners.append(source)
                source.resume()
            }
        }
    }

    /// Stops accepting new connections; open ones carry on.
    public func stopAccepting() {
        acceptQueue.sync {
            // A suspended source must be resumed before it can be cancelled and released.
            if acceptPaused { resumeAccepting() }
            for source in listeners { source.cancel() }
            listeners.removeAll()
        }
    }

    /// From now on, responses close their connection instead of keeping it alive.
    public func beginDraining() { draining.store(true, ordering: .relaxed) }

    /// Stops accepting and closes every connection (requests in flight are cancelled).
    public func shutdown() {
        stopAccepting()
        for loop in loops {
            loop.queue.sync {
                loop.stopSweeping()
                for connection in Array(loop.connections.values) { connection.close() }
            }
        }
    }

    private func acceptAll(_ listenFD: Int32) {
        while true {
            let fd = acceptCall(listenFD)
            if fd < 0 {
                switch errno {
                case EINTR, ECONNABORTED: continue
                case EAGAIN, EWOULDBLOCK: return
                case EMFILE, ENFILE:
                    pauseAccepting()
                    return
                default:
                    return
                }
            }
            if connectionCount.load(ordering: .relaxed) >= settings.maxConnections {
                refuse(fd)
                continue
            }
            connectionCount.add(1, ordering: .relaxed)
            Socket.setNoDelay(fd)
            let loop = loops[nextLoop]
            nextLoop = (nextLoop + 1) % loops.count
            loop.queue.async { [self] in
                let connection = Connection(fd: fd, loop: loop, server: self)
                loop.connections[fd] = connection
                connection.start()
            }
        }
    }

    /// Out of file descriptors: the pending connection stays in the backlog and the listening
    /// socket stays readable, so accepting pauses for a moment instead of spinning (logged once
    /// per `descriptorLogInterval`). Accept queue only.
    private func pauseAccepting() {
        guard !acceptPaused else { return }
        acceptPaused = true
        acceptPauses += 1
        for source in listeners { source.suspend() }
        let now = DispatchTime.now().uptimeNanoseconds
        if lastDescriptorLog.map({ now - $0 >= UInt64(descriptorLogInterval * 1e9) }) ?? true {
            lastDescriptorLog = now
            log(ServerLogEntry(method: "-", path: "-", status: 503,
                               note: "accept: out of file descriptors; pausing accepts for \(acceptBackoffSeconds) s"))
        }
        acceptQueue.asyncAfter(deadline: .now() + acceptBackoffSeconds) { [self] in
            if acceptPaused { resumeAccepting() }
        }
    }

    private func resumeAccepting() {
        acceptPaused = false
        for source in listeners { source.resume() }
    }

    /// Raises the soft RLIMIT_NOFILE to the hard limit; a warning when it still cannot hold
    /// `needed` connections (plus room for listeners, upstream sockets and the ledger).
    static func raiseDescriptorLimit(needed: Int) -> String? {
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return nil }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(resource, &raised) == 0 { limit = raised }
        }
        let wanted = UInt64(needed) * 2 + 64
        guard UInt64(limit.rlim_cur) < wanted else { return nil }
        return "server.max_connections (\(needed)) needs about \(wanted) file descriptors (a client and an upstream "
            + "socket each) but RLIMIT_NOFILE allows \(limit.rlim_cur): raise LimitNOFILE= or lower max_connections"
    }

    /// Over the connection limit: a short 503 and close.
    private func refuse(_ fd: Int32) {
        let error = GatewayError.unavailable("Too many open connections (limit \(settings.maxConnections)); retry shortly.",
                                             code: "too_many_connections")
        var out: [UInt8] = []
        var headers = HTTPHeaders()
        headers.add("Content-Type", "application/json")
        headers.add("Retry-After", "1")
        HTTPResponseHead.encode(status: 503, headers: headers, contentLength: error.body.count, keepAlive: false,
                                date: loops[0].date, into: &out)
        out.append(contentsOf: error.body)
        _ = out.withUnsafeBytes { Socket.send(fd, $0) }
        Glibc.shutdown(fd, Int32(SHUT_WR))
        Glibc.close(fd)
        log(ServerLogEntry(method: "-", path: "-", status: 503, note: "connection limit reached"))
    }

    func connectionClosed() { connectionCount.subtract(1, ordering: .relaxed) }
    func requestStarted() {
        requestCount.add(1, ordering: .relaxed)
        requestTotal.add(1, ordering: .relaxed)
    }
    func requestFinished() { requestCount.subtract(1, ordering: .relaxed) }

    func log(_ entry: ServerLogEntry) { logger?(entry) }
}

/// A request the server answered without the handler (so the log still has a line for it).
public struct ServerLogEntry: Sendable {
    public var method: String
    public var path: String
    public var status: Int
    public var note: String
}
