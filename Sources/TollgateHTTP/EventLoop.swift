import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import TollgateCore

/// One event loop: a serial queue that owns its client connections. Everything a loop owns
/// (connections, their buffers, and the upstream client the gateway attaches) is touched only
/// on `queue`; that is what makes the unchecked Sendable conformance sound.
public final class EventLoop: @unchecked Sendable {
    public let index: Int
    public let queue: DispatchQueue
    var connections: [Int32: Connection] = [:]
    /// Scratch buffer for socket reads; one per loop because reads never overlap on a queue.
    let readBuffer: UnsafeMutableRawBufferPointer
    private(set) var date: [UInt8] = []
    private var dateSecond = 0
    private var sweepTimer: (any DispatchSourceTimer)?
    /// Anything the embedding application wants to keep per loop (the gateway's upstream client).
    public var attachment: AnyObject?
    /// Deadlines checked by the sweep (cheaper than a timer source per request).
    private var deadlines: [Int: (at: UInt64, action: () -> Void)] = [:]
    private var nextDeadlineID = 0

    /// A loop with its own queue; the server makes one per core, tests may make their own.
    public init(index: Int) {
        self.index = index
        queue = DispatchQueue(label: "tollgate.loop.\(index)")
        readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 << 10, alignment: 16)
        refreshDate()
    }

    deinit { readBuffer.deallocate() }

    /// Checks timeouts every `interval` seconds and keeps the Date header current.
    public func startSweeping(interval: Double) {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(10))
        timer.setEventHandler { [unowned self] in
            refreshDate()
            let now = DispatchTime.now().uptimeNanoseconds
            for connection in Array(connections.values) { connection.checkDeadline(now: now) }
            let due = deadlines.filter { $0.value.at <= now }
            for (id, entry) in due.sorted(by: { $0.value.at < $1.value.at }) where deadlines[id] != nil {
                deadlines[id] = nil
                entry.action()
            }
        }
        timer.resume()
        sweepTimer = timer
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
        sweepTimer?.cancel()
        sweepTimer = nil
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
