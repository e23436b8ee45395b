import TollgateCore
import TollgateWire

private let protocols: [any EmbeddingProtocol] = [OpenAIEmbed(), GeminiEmbed(), BedrockEmbed()]

/// The embedding protocols' response and failure decoders. First byte: which protocol and
/// whether the body is an answer (200) or a failure.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let mode = input.byte()
    let embed = protocols[Int(mode) % protocols.count]
    let body = Array(input.rest)
    if mode & 0x80 == 0 {
        do {
            let result = try embed.decodeResponse(status: 200, headers: HTTPHeaders(), body: body)
            require(result.promptTokens >= 0, "negative prompt tokens \(result.promptTokens)")
        } catch {
            checkError(error)
        }
    } else {
        let failure = embed.decodeFailure(status: 400 + Int(mode & 0x7F), headers: HTTPHeaders(), body: body)
        checkError(failure.error)
    }
    return 0
}
