/// Turns a provider's streamed bytes into OpenAI chunks, fed in any split.
public protocol ChatStreamDecoder {
    mutating func feed(_ bytes: UnsafeRawBufferPointer) -> [StreamOutput]
    /// The byte stream ended; anything still buffered is flushed.
    mutating func finish() -> [StreamOutput]
}
