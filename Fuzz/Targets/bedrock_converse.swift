import TollgateWire

/// Bedrock Converse: response, failure and stream decoders (see `fuzzChat`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzChat(BedrockConverse(), framing: .eventStream, data, size)
}
