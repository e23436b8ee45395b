import TollgateCore

/// Parameter dropping, decided by each registered protocol's `acceptedParameters`: the gateway
/// only logs the names this returns.
extension ChatProtocol {
    /// The request without the parameters this protocol cannot carry, and their names in request order.
    public func accepting(_ input: ChatRequestInput) -> (input: ChatRequestInput, dropped: [String]) {
        guard let accepted = acceptedParameters, case .object(var object) = input.json else { return (input, []) }
        let dropped = object.keys.filter { !accepted.contains($0) }
        guard !dropped.isEmpty else { return (input, []) }
        for key in dropped { object[key] = nil }
        var copy = input
        copy.json = .object(object)
        copy.rawBody = copy.json.serialized()
        return (copy, dropped)
    }
}
