import Dispatch

/// What an event loop offers a component from another module that owns sockets (the
/// upstream client): its sockets in the loop's readiness set, one timer, and work run once
/// the current batch of events is handled. Every method is called on `queue`.
public protocol SocketLoop: AnyObject {
    var queue: DispatchQueue { get }
    /// True while the loop handles a batch of readiness events.
    var isInBatch: Bool { get }
    /// Watches `fd` for the given readiness (adds it to the set, or changes what is watched).
    func watchExternal(_ fd: Int32, read: Bool, write: Bool)
    /// Stops watching `fd` (before it is closed).
    func unwatchExternal(_ fd: Int32)
    /// Fires the external timer after `nanoseconds` (nil disarms it).
    func armExternalTimer(nanoseconds: UInt64?)
    /// Runs `action` once the current batch has been handled; outside a batch, soon on `queue`.
    func atEndOfBatch(_ action: @escaping () -> Void)
    /// Where the readiness of external sockets and the external timer are reported.
    func setExternalHandlers(socket: @escaping (_ fd: Int32, _ events: LoopEvents) -> Void,
                             timer: @escaping () -> Void)
}

/// Readiness reported for one socket.
public struct LoopEvents: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let readable = LoopEvents(rawValue: 1)
    public static let writable = LoopEvents(rawValue: 4)
    public static let error = LoopEvents(rawValue: 8)
    public static let hangup = LoopEvents(rawValue: 16)
}
