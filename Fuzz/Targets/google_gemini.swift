import TollgateWire

/// Gemini generateContent: response, failure and stream decoders (see `fuzzChat`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    fuzzChat(GeminiChat(), framing: .sse, data, size)
}
