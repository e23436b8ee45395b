import TollgateCore

/// Renders the common stream (OpenAI chunks) as the events of a client's own API.
public protocol InboundStreamRenderer {
    /// The events for one chunk (its JSON text).
    mutating func events(forChunk text: String) -> [UInt8]
    /// The end of a complete answer, with the usage the provider reported, if any.
    mutating func end(usage: Usage?) -> [UInt8]
    /// The end of an answer that failed after the stream began.
    mutating func fail(_ error: GatewayError) -> [UInt8]
    /// The upstream's own events were relayed (a same-family pass-through): the opening events
    /// are not sent again before a failure.
    mutating func markStarted()
}

extension AnthropicEventWriter: InboundStreamRenderer {
    public mutating func fail(_ error: GatewayError) -> [UInt8] { AnthropicInbound.errorEvent(error) }
}

extension ResponsesEventWriter: InboundStreamRenderer {}
