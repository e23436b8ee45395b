import CShims
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif
import TollgateCore

/// One event loop: a serial queue driven by one `DispatchSourceRead` on the loop's own epoll
/// set. Client sockets, the upstream client's sockets and the loop's timers are all in that
/// set; one Dispatch wake-up drains `epoll_wait(…, 0)` until nothing is ready, so many socket
/// events are handled per wake (a batch). Writes are coalesced per batch, and an object closed
/// during a batch is released only after it. Everything a loop owns is touched only on
/// `queue`; that is what makes the unchecked Sendable conformance sound.
public final class EventLoop: SocketLoop, @unchecked Sendable {
    public let index: Int
    public let queue: DispatchQueue
    let epollFD: Int32
    private var source: (any DispatchSourceRead)?
    var connections: [Int32: Connection] = [:]
    /// Scratch buffer for socket reads; one per loop because reads never overlap on a queue.
    let readBuffer: UnsafeMutableRawBufferPointer
    private(set) var date: [UInt8] = []
    private var dateSecond = 0
    /// Anything the embedding application wants to keep per loop (the gateway's upstream client).
    public var attachment: AnyObject?
    /// Deadlines checked by the sweep (cheaper than a timer per request).
    private var deadlines: [Int: (at: UInt64, action: () -> Void)] = [:]
    private var nextDeadlineID = 0

    // The batch.
    public private(set) var isInBatch = false
    private var endOfBatch: [() -> Void] = []
    private var endOfBatchScheduled = false
    /// Connections with output to send at the end of the batch.
    private var dirty: [Connection] = []
    /// Objects closed during the batch: events already read may still name them.
    private var closedInBatch: [AnyObject] = []
    private let tokens: UnsafeMutablePointer<UInt64>
    private let masks: UnsafeMutablePointer<UInt32>
    static let batchSize = 128
    /// Batches handled and events in them, for the bench's events-per-wake figure.
    public private(set) var batches = 0
    public private(set) var events = 0
    /// Batches that began while the loop's thread lingered (not through a Dispatch wake-up).
    public private(set) var lingerWakes = 0
    /// How long the loop's thread waits for more events after a batch (0: it returns to Dispatch at once).
    /// The server sets it from `server.loop_linger_microseconds` before the loop runs.
    public var lingerNanoseconds: Int64 = 0
    static let maxHoldNanoseconds: UInt64 = 2_000_000

    // Timers: the sweep (timeouts, Date header) and one for the upstream client.
    private let sweepFD: Int32
    private let externalTimerFD: Int32
    /// Work handed to the loop from other threads (`execute`), and the eventfd in the set that
    /// wakes the loop for it, even while its thread lingers.
    private let wakeFD: Int32
    private let posted = Mutex<[@Sendable () -> Void]>([])
    private var sweepInterval: Double = 0
    private var externalSocket: ((Int32, LoopEvents) -> Void)?
    private var externalTimer: (() -> Void)?

    // Tokens: a Connection's address (8-byte aligned, low bits 0), or a tag with an fd.
    static let tagMask: UInt64 = 3
    static let externalTag: UInt64 = 1
    static let sweepTag: UInt64 = 2
    static let externalTimerTag: UInt64 = 3
    /// The wake-up eventfd: the sweep's tag with a payload of 1.
    static let wakeToken: UInt64 = (1 << 2) | sweepTag
    // <sys/epoll.h> values (Glibc's module does not carry them).
    static let epollIn: UInt32 = 0x001
    static let epollOut: UInt32 = 0x004
    static let epollErr: UInt32 = 0x008
    static let epollHup: UInt32 = 0x010
    static let epollRdHup: UInt32 = 0x2000

    /// A loop with its own queue and epoll set; the server makes one per core, tests may make their own.
    public init(index: Int) {
        self.index = index
        queue = DispatchQueue(label: "tollgate.loop.\(index)")
        readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        tokens = .allocate(capacity: Self.batchSize)
        masks = .allocate(capacity: Self.batchSize)
        epollFD = tg_epoll_create()
        sweepFD = tg_timerfd_create()
        externalTimerFD = tg_timerfd_create()
        wakeFD = tg_eventfd_create()
        precondition(epollFD >= 0 && sweepFD >= 0 && externalTimerFD >= 0 && wakeFD >= 0, "epoll/timerfd/eventfd: errno \(errno)")
        _ = tg_epoll_ctl(epollFD, 1, sweepFD, Self.epollIn, Self.sweepTag)
        _ = tg_epoll_ctl(epollFD, 1, externalTimerFD, Self.epollIn, Self.externalTimerTag)
        _ = tg_epoll_ctl(epollFD, 1, wakeFD, Self.epollIn, Self.wakeToken)
        refreshDate()
        let source = DispatchSource.makeReadSource(fileDescriptor: epollFD, queue: queue)
        // A strong reference for the whole drain (which may linger): the loop cannot be
        // deinitialised on another thread while its handler runs.
        source.setEventHandler { [weak self] in self?.drain() }
        let epoll = epollFD
        source.setCancelHandler { Glibc.close(epoll) }
        source.resume()
        self.source = source
    }

    deinit {
        source?.cancel()
        readBuffer.deallocate()
        tokens.deallocate()
        masks.deallocate()
        Glibc.close(sweepFD)
        Glibc.close(externalTimerFD)
        Glibc.close(wakeFD)
        // The epoll fd is closed by the source's cancel handler, once libdispatch lets go of it.
    }

    // MARK: the batch

    /// Handles every ready event, then the end-of-batch work: queued actions (the upstream
    /// client drives curl here once), coalesced writes, and releasing what was closed.
    ///
    /// After a batch the loop's thread waits up to `lingerNanoseconds` in its own set for the
    /// next events (an upstream's answer, a client's next request), which are then handled
    /// without a round trip through libdispatch's wake-up of a worker thread. One Dispatch
    /// wake-up keeps the thread at most `maxHoldNanoseconds`, so work queued on `queue` waits
    /// no longer than that.
    private func drain() {
        isInBatch = true
        var ready = Int(tg_epoll_wait(epollFD, tokens, masks, Int32(Self.batchSize), 0))
        let start = lingerNanoseconds > 0 ? DispatchTime.now().uptimeNanoseconds : 0
        while true {
            while ready > 0 {
                batches += 1
                events += ready
                for i in 0..<ready { dispatch(token: tokens[i], mask: masks[i]) }
                guard ready == Self.batchSize else { break }
                ready = Int(tg_epoll_wait(epollFD, tokens, masks, Int32(Self.batchSize), 0))
            }
            finishBatch()
            guard lingerNanoseconds > 0, DispatchTime.now().uptimeNanoseconds - start < Self.maxHoldNanoseconds else { return }
            let n = Int(tg_epoll_wait_ns(epollFD, tokens, masks, Int32(Self.batchSize), lingerNanoseconds))
            if n == -Int(ENOSYS) { lingerNanoseconds = 0 }
            guard n > 0 else { return }
            lingerWakes += 1
            isInBatch = true
            ready = n
        }
    }

    private func finishBatch() {
        isInBatch = true
        var rounds = 0
        while !endOfBatch.isEmpty || !dirty.isEmpty, rounds < 16 {
            // Every queued action first (an action may queue the next: curl's timeout run
            // finishes an exchange, whose ledger commit runs after it), then the writes: a stream
            // that ended in this batch leaves in one send with its final bytes, after its row.
            while !endOfBatch.isEmpty, rounds < 16 {
                rounds += 1
                let actions = endOfBatch
                endOfBatch.removeAll()
                for action in actions { action() }
            }
            rounds += 1
            let flush = dirty
            dirty.removeAll()
            for connection in flush { connection.flush() }
        }
        closedInBatch.removeAll()
        isInBatch = false
        if !endOfBatch.isEmpty || !dirty.isEmpty { scheduleEndOfBatch() }
    }

    private func dispatch(token: UInt64, mask: UInt32) {
        switch token & Self.tagMask {
        case 0:
            let connection = Unmanaged<Connection>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(token))!).takeUnretainedValue()
            connection.handle(events: Self.loopEvents(mask))
        case Self.externalTag:
            externalSocket?(Int32(truncatingIfNeeded: token >> 2), Self.loopEvents(mask))
        case Self.sweepTag:
            if token == Self.wakeToken {
                runPosted()
            } else {
                _ = tg_timerfd_drain(sweepFD)
                sweep()
            }
        default:
            _ = tg_timerfd_drain(externalTimerFD)
            externalTimer?()
        }
    }

    static func loopEvents(_ mask: UInt32) -> LoopEvents {
        var e: LoopEvents = []
        if mask & Self.epollIn != 0 { e.insert(.readable) }
        if mask & Self.epollOut != 0 { e.insert(.writable) }
        if mask & Self.epollErr != 0 { e.insert(.error) }
        if mask & Self.epollHup != 0 { e.insert(.hangup) }
        return e
    }

    static func epollMask(read: Bool, write: Bool) -> UInt32 {
        (read ? Self.epollIn | Self.epollRdHup : 0) | (write ? Self.epollOut : 0)
    }

    /// Runs the end-of-batch work soon when it was asked for outside a batch.
    private func scheduleEndOfBatch() {
        guard !endOfBatchScheduled else { return }
        endOfBatchScheduled = true
        let box = LoopBound(self)
        queue.async {
            let loop = box.value
            loop.endOfBatchScheduled = false
            guard !loop.isInBatch else { return }
            loop.finishBatch()
        }
    }

    /// Runs `body` as a batch: writes it makes are coalesced and end-of-batch work follows it.
    /// For work that arrives from outside the epoll set (a queue hop back to the loop).
    public func batch(_ body: () -> Void) {
        guard !isInBatch else { return body() }
        isInBatch = true
        body()
        finishBatch()
    }

    /// Runs `work` on this loop, from any thread, inside a batch. Unlike `queue.async`, it does
    /// not wait for the loop's current drain to end: the eventfd in the loop's set wakes a
    /// lingering thread at once (and an idle loop through its Dispatch source).
    public func execute(_ work: @escaping @Sendable () -> Void) {
        let first = posted.withLock { list in
            list.append(work)
            return list.count == 1
        }
        if first { _ = tg_eventfd_signal(wakeFD) }
    }

    /// Runs the work posted so far. The eventfd is cleared before the list is taken, so work
    /// posted after that signals again and is not left behind.
    private func runPosted() {
        _ = tg_timerfd_drain(wakeFD)
        let work = posted.withLock { list in
            defer { list.removeAll() }
            return list
        }
        for item in work { item() }
    }

    public func atEndOfBatch(_ action: @escaping () -> Void) {
        endOfBatch.append(action)
        if !isInBatch { scheduleEndOfBatch() }
    }

    // MARK: connections

    func watch(_ connection: Connection, read: Bool, write: Bool, adding: Bool) {
        let token = UInt64(UInt(bitPattern: Unmanaged.passUnretained(connection).toOpaque()))
        _ = tg_epoll_ctl(epollFD, adding ? 1 : 3, connection.fd, Self.epollMask(read: read, write: write), token)
    }

    func unwatch(_ fd: Int32) { _ = tg_epoll_ctl(epollFD, 2, fd, 0, 0) }

    /// A connection has output to send: at the end of the batch, or at once outside one.
    func needsFlush(_ connection: Connection) {
        if isInBatch {
            dirty.append(connection)
        } else {
            connection.flush()
        }
    }

    /// Keeps a closed object alive until the batch that may still name it is over.
    func retainUntilBatchEnds(_ object: AnyObject) {
        if isInBatch { closedInBatch.append(object) }
    }

    // MARK: SocketLoop (the upstream client)

    public func watchExternal(_ fd: Int32, read: Bool, write: Bool) {
        let token = (UInt64(UInt32(bitPattern: fd)) << 2) | Self.externalTag
        let mask = Self.epollMask(read: read, write: write)
        if tg_epoll_ctl(epollFD, 3, fd, mask, token) != 0, errno == ENOENT {
            _ = tg_epoll_ctl(epollFD, 1, fd, mask, token)
        }
    }

    public func unwatchExternal(_ fd: Int32) { _ = tg_epoll_ctl(epollFD, 2, fd, 0, 0) }

    public func armExternalTimer(nanoseconds: UInt64?) {
        _ = tg_timerfd_arm(externalTimerFD, nanoseconds.map { max($0, 1) } ?? 0, 0)
    }

    public func setExternalHandlers(socket: @escaping (Int32, LoopEvents) -> Void, timer: @escaping () -> Void) {
        externalSocket = socket
        externalTimer = timer
    }

    // MARK: timers

    /// Checks timeouts every `interval` seconds and keeps the Date header current.
    public func startSweeping(interval: Double) {
        sweepInterval = interval
        let ns = UInt64(interval * 1e9)
        _ = tg_timerfd_arm(sweepFD, ns, ns)
    }

    private func sweep() {
        refreshDate()
        let now = DispatchTime.now().uptimeNanoseconds
        for connection in Array(connections.values) { connection.checkDeadline(now: now) }
        guard !deadlines.isEmpty else { return }
        let due = deadlines.filter { $0.value.at <= now }
        for (id, entry) in due.sorted(by: { $0.value.at < $1.value.at }) where deadlines[id] != nil {
            deadlines[id] = nil
            entry.action()
        }
    }

    /// Runs `action` on this loop once `seconds` have passed (checked at the sweep interval),
    /// unless cancelled with the returned id first. Call on the loop's queue.
    public func schedule(after seconds: Double, _ action: @escaping () -> Void) -> Int {
        nextDeadlineID += 1
        deadlines[nextDeadlineID] = (DispatchTime.now().uptimeNanoseconds + UInt64(max(0, seconds) * 1e9), action)
        return nextDeadlineID
    }

    public func cancelScheduled(_ id: Int) { deadlines[id] = nil }

    public func stopSweeping() {
        _ = tg_timerfd_arm(sweepFD, 0, 0)
    }

    /// Asserts (in debug builds) that the caller is on this loop's queue.
    public func assertOnLoop() {
        #if DEBUG
        dispatchPrecondition(condition: .onQueue(queue))
        #endif
    }

    func refreshDate() {
        var now = time(nil)
        guard Int(now) != dateSecond else { return }
        dateSecond = Int(now)
        var parts = tm()
        gmtime_r(&now, &parts)
        var buffer = [Int8](repeating: 0, count: 64)
        let n = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
        date = buffer[0..<n].map { UInt8(bitPattern: $0) }
    }
}
