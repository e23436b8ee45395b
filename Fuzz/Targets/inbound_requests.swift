import TollgateCore
import TollgateWire

/// The inbound translations: any JSON as an Anthropic Messages or a Responses request is either
/// refused with a 400 or becomes a common request that serializes and parses back; a common
/// stream of any chunks rendered as Anthropic or Responses events is well-formed SSE whose
/// events are JSON objects.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let which = input.byte()
    let rest = Array(input.rest)
    if let json = try? JSONValue.parse(rest) {
        do {
            let translation = which & 1 == 0 ? try AnthropicInbound.chatRequest(json) : try ResponsesInbound.chatRequest(json)
            let round = try? JSONValue.parse(translation.chat.serialized())
            require(round == translation.chat, "a translated request does not survive serialization")
        } catch {
            require(error.status == 400, "a translation refused with \(error.status), not 400")
        }
    }
    // The bytes as chunk texts, one per line.
    let lines = String(decoding: rest, as: UTF8.self).split(separator: "\n").map(String.init)
    var out: [UInt8]
    if which & 2 == 0 {
        var writer = AnthropicEventWriter(id: "msg_f", model: "m", estimatedInputTokens: 3)
        out = lines.flatMap { writer.events(forChunk: $0) }
        out += which & 4 == 0 ? writer.end(usage: Usage(promptTokens: 1, completionTokens: 2)) : writer.fail(.badGateway("x"))
    } else {
        var writer = ResponsesEventWriter(echo: ResponsesInbound.Echo(id: "resp_f", model: "m", createdAt: 0, request: .null))
        out = lines.flatMap { writer.events(forChunk: $0) }
        out += which & 4 == 0 ? writer.end(usage: nil) : writer.fail(.badGateway("x"))
    }
    var parser = SSEParser()
    let events = (try? parser.feed(out)) ?? []
    require(!events.isEmpty, "a rendered stream has no events")
    for event in events {
        guard let json = try? JSONValue.parse(Array(event.data.utf8)), case .object = json else {
            require(false, "a rendered event's data is not a JSON object: \(event.data.prefix(80))")
            continue
        }
        require(json["type"]?.stringValue == event.event, "an event's type differs from its name")
    }
    return 0
}
