import TollgateCore

/// What a stream decoder makes of the provider's bytes.
public enum StreamOutput: Sendable, Equatable {
    /// A `chat.completion.chunk` as JSON text, to send as one SSE `data:` event.
    case chunk(String)
    /// Bytes relayed to the client exactly as the upstream sent them (a same-family pass-through),
    /// with how many of them are answer text (for the estimate of a cut stream).
    case raw([UInt8], textBytes: Int)
    /// Usage reported by the provider (sent to the client only when it asked).
    case usage(Usage)
    /// The provider reported an error mid-stream.
    case error(GatewayError)
    /// The provider said the answer is complete.
    case done
}
