import CShims
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import TollgateCore

/// The built-in HTTP/1.1 client for plain-HTTP upstreams at numeric addresses (local model
/// servers: Ollama, vLLM, LM Studio, llama.cpp): one non-blocking socket per request in
/// flight, kept open and reused after a complete response, in the loop's epoll set; no
/// per-request epoll changes, polls or timers on a reused connection. Part of `UpstreamClient`
/// and used for the requests `PlainTarget` accepts; curl carries the rest. Lives on the loop's queue.
final class PlainHTTPClient {
    unowned let loop: any SocketLoop
    /// Arms the client's share of the loop's external timer for a monotonic deadline.
    let armTimer: (UInt64) -> Void
    /// Every open connection, by fd (busy and idle).
    private(set) var connections: [Int32: PlainConnection] = [:]
    /// Connections closed during the current batch, whose fds are closed after it (an event
    /// already read may still name them). Each fd is closed once, from here or `releaseSockets`.
    private var closing: [Int32: PlainConnection] = [:]
    /// Idle connections by `PlainTarget.poolKey`, the most recently used last.
    private var idle: [String: [PlainConnection]] = [:]
    private var idleCount = 0
    /// Connections in a transfer.
    private(set) var busy = 0
    let readBuffer: UnsafeMutableRawBufferPointer
    /// Most idle connections kept (the oldest is closed beyond it).
    static let maxIdle = 512

    init(loop: any SocketLoop, armTimer: @escaping (UInt64) -> Void) {
        self.loop = loop
        self.armTimer = armTimer
        readBuffer = .allocate(byteCount: 64 << 10, alignment: 16)
    }

    deinit { readBuffer.deallocate() }

    /// Sends `transfer` on an idle connection to its target, or a new one.
    func start(_ transfer: UpstreamTransfer) {
        guard let request = transfer.plain else { return }
        let key = request.target.poolKey
        if var list = idle[key], let connection = list.popLast() {
            idle[key] = list.isEmpty ? nil : list
            idleCount -= 1
            busy += 1
            connection.begin(transfer, reused: true)
            return
        }
        open(transfer, addressIndex: 0)
    }

    /// A new connection for `transfer`, to its target's address number `addressIndex`.
    func open(_ transfer: UpstreamTransfer, addressIndex: Int) {
        guard let request = transfer.plain else { return }
        let target = request.target
        var inProgress: Int32 = 0
        let fd = tg_connect_numeric(target.addresses[addressIndex], Int32(target.port), &inProgress)
        guard fd >= 0 else {
            if addressIndex + 1 < target.addresses.count { return open(transfer, addressIndex: addressIndex + 1) }
            let error = Self.connectError(target: target, address: target.addresses[addressIndex], errno: -fd)
            // Reported after the caller's `start` returns, as curl would.
            let box = LoopBound(transfer)
            loop.atEndOfBatch { box.value.finished(error: error) }
            return
        }
        let connection = PlainConnection(fd: fd, key: target.poolKey, client: self)
        connections[fd] = connection
        busy += 1
        connection.connect(transfer, addressIndex: addressIndex, inProgress: inProgress != 0)
    }

    /// Readiness of one of the client's sockets; false when `fd` is not one of them.
    func handle(fd: Int32, events: LoopEvents) -> Bool {
        guard let connection = connections[fd] else { return closing[fd] != nil }
        connection.handle(events)
        return true
    }

    /// Stops `transfer` at once: its connection is closed, since its response was not read to the end.
    func cancel(_ transfer: UpstreamTransfer) {
        transfer.connection?.abandon()
    }

    /// Lets a paused transfer read again.
    func resume(_ transfer: UpstreamTransfer) {
        transfer.connection?.resumeReading()
    }

    // MARK: connections coming back

    /// A connection finished its transfer and can carry another.
    func recycle(_ connection: PlainConnection) {
        busy -= 1
        if idleCount >= Self.maxIdle, let oldestKey = idle.keys.first, var list = idle[oldestKey], !list.isEmpty {
            let oldest = list.removeFirst()
            idle[oldestKey] = list.isEmpty ? nil : list
            idleCount -= 1
            oldest.close()
        }
        idle[connection.key, default: []].append(connection)
        idleCount += 1
    }

    /// A connection is gone (`wasBusy`: it was in a transfer, else idle); its fd is closed
    /// after the current batch, which may still hold an event for it.
    func closed(_ connection: PlainConnection, wasBusy: Bool) {
        if wasBusy {
            busy -= 1
        } else if var list = idle[connection.key], let i = list.firstIndex(where: { $0 === connection }) {
            list.remove(at: i)
            idle[connection.key] = list.isEmpty ? nil : list
            idleCount -= 1
        }
        let fd = connection.fd
        if connection.isWatched { loop.unwatchExternal(fd) }
        connections[fd] = nil
        closing[fd] = connection
        let box = LoopBound(self)
        loop.atEndOfBatch {
            let client = box.value
            if client.closing.removeValue(forKey: fd) != nil { Glibc.close(fd) }
        }
    }

    /// Closes every connection (the client is closing).
    func closeAll() {
        for connection in Array(connections.values) {
            connection.transfer?.cancel()
            connection.close()
        }
    }

    /// Closes the sockets without touching the loop (the loop is being torn down).
    func releaseSockets() {
        for fd in connections.keys { Glibc.close(fd) }
        for fd in closing.keys { Glibc.close(fd) }
        connections.removeAll()
        closing.removeAll()
        idle.removeAll()
    }

    // MARK: deadlines

    /// The loop's external timer fired: fails the transfers whose deadline passed and returns
    /// the earliest deadline left.
    func expire(now: UInt64) -> UInt64? {
        var next: UInt64?
        for connection in Array(connections.values) {
            guard let deadline = connection.deadline else { continue }
            if deadline <= now {
                connection.deadlinePassed()
            } else {
                next = min(next ?? deadline, deadline)
            }
        }
        return next
    }

    // MARK: errors as curl reports them

    static func connectError(target: PlainTarget, address: String, errno code: Int32) -> UpstreamError {
        UpstreamError(kind: .connect, curlCode: 7,
                      message: "Couldn't connect to server: Failed to connect to \(address) port \(target.port): \(Self.describe(code))")
    }

    static func describe(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}
