/// Carries a value that is confined to one event loop's serial queue across a `queue.async`
/// hop to that same queue. The compiler cannot see queue confinement; this box states it.
public struct LoopBound<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}
