import TollgateWire

/// Anthropic Messages: response, failure and stream decoders (see `fuzzChat`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzChat(AnthropicMessages(), framing: .sse, data, size)
}
