import TollgateWire

private struct Outcome: Equatable {
    var messages: [AWSEventStream.Message] = []
    var error: AWSEventStream.FramingError?
    var buffered = 0
}

private func decode(_ chunks: [ArraySlice<UInt8>]) -> Outcome {
    var decoder = AWSEventStream.Decoder()
    var outcome = Outcome()
    feeding: for chunk in chunks {
        decoder.append(chunk)
        while true {
            do {
                guard let message = try decoder.next() else { break }
                outcome.messages.append(message)
            } catch {
                outcome.error = error
                break feeding
            }
        }
    }
    outcome.buffered = decoder.bufferedCount
    return outcome
}

/// The Bedrock event-stream decoder. Mode byte: bit 0 clear frames the input into valid
/// messages (so the CRCs pass), bit 1 then corrupts one byte. Fed whole and in pieces it must
/// agree; each decoded message, framed again, decodes to itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let mode = input.byte()
    let seed = input.byte()
    var bytes: [UInt8]
    if mode & 1 == 1 {
        bytes = Array(input.rest)
    } else {
        let where_ = Int(input.byte()) << 8 | Int(input.byte())
        let flip = input.byte() | 1
        bytes = EventStreamFraming.frames(from: &input)
        if mode & 2 == 2, !bytes.isEmpty { bytes[where_ % bytes.count] ^= flip }
    }

    let whole = decode([bytes[...]])
    let split = decode(pieces(bytes[...], seed: seed, maxPiece: 64))
    require(whole == split, "whole \(whole) != split \(split)")
    if whole.error == nil, mode & 3 == 0 {
        require(whole.buffered == 0, "valid frames left \(whole.buffered) bytes buffered")
    }

    for message in whole.messages {
        // Names and strings that were not UTF-8 grow when decoded; they may not fit their lengths again.
        let fits = message.headers.allSatisfy { name, value in
            if case .string(let s) = value, s.utf8.count > 0xFFFF { return false }
            return name.utf8.count <= 0xFF
        }
        guard fits else { continue }
        let framed = EventStreamFraming.frame(headers: EventStreamFraming.encode(headers: message.headers),
                                              payload: message.payload)
        let again = decode([framed[...]])
        require(again.messages == [message] && again.error == nil, "\(message) re-framed decoded as \(again)")
    }
    return 0
}
