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
    /// Receives one line per request the server answers by itself (malformed input, overload).
    public var logger: (@Sendable (ServerLogEntry) -> Void)?

    public init(settings: ServerSettings, loops: Int, handler: any HTTPHandler) {
        self.settings = settings
        self.handler = handler
        let count = max(1, loops)
        self.loops = (0..<count).map { EventLoop(index: $0) }
        let shortest = min(settings.headerTimeoutSeconds, settings.bodyTimeoutSeconds, settings.idleTimeoutSeconds)
        let interval = max(0.02, min(0.25, shortest / 4))
        for loop in self.loops {
            loop.queue.sync { loop.startSweeping(interval: interval) }
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
        for fd in fds {
            _ = tg_set_nonblocking(fd)
            let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: acceptQueue)
            source.setEventHandler { [self] in acceptAll(fd) }
            source.setCancelHandler { Glibc.close(fd) }
            listeners.append(source)
            source.resume()
        }
    }

    /// Stops accepting new connections; open ones carry on.
    public func stopAccepting() {
        acceptQueue.sync {
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
            let fd = tg_accept4(listenFD)
            if fd < 0 {
                switch errno {
                case EINTR, ECONNABORTED: continue
                case EAGAIN, EWOULDBLOCK: return
                case EMFILE, ENFILE:
                    log(ServerLogEntry(method: "-", path: "-", status: 503, note: "accept: out of file descriptors"))
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
