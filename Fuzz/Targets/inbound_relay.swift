import TollgateCore
import TollgateWire

/// Same-family relays: any bytes fed whole or in pieces give the same outputs, and what is
/// relayed is exactly the input up to the point the relay stopped (an end or an error).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let which = input.byte()
    let seed = input.byte()
    let body = input.rest
    func run(_ parts: [ArraySlice<UInt8>]) -> [StreamOutput] {
        var relay: any ChatStreamDecoder = which & 1 == 0 ? SSEEventRelay(reader: AnthropicInbound.StreamReader())
            : SSEEventRelay(reader: ResponsesInbound.StreamReader())
        var outputs: [StreamOutput] = []
        for part in parts { outputs += part.withUnsafeBytes { relay.feed($0) } }
        return outputs + relay.finish()
    }
    let whole = run([body])
    let split = run(pieces(body, seed: seed))
    require(whole == split, "a relay fed in pieces disagrees with one fed whole")
    var relayed: [UInt8] = []
    var stopped = false
    for output in whole {
        switch output {
        case .raw(let bytes, _): relayed += bytes
        case .done, .error: stopped = true
        default: break
        }
    }
    // What was relayed is the input as it came; a relay that did not stop held back at most
    // trailing white space (no event in it).
    require(Array(body.prefix(relayed.count)) == relayed, "a relay changed the bytes it relayed")
    if !stopped {
        require(body.dropFirst(relayed.count).allSatisfy { $0 == 0x0A || $0 == 0x0D || $0 == 0x20 || $0 == 0x09 },
                "a relay that did not stop lost bytes")
    }
    return 0
}
