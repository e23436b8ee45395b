import TollgateCore

private struct Outcome: Equatable {
    var events: [SSEEvent] = []
    var tooLong = false
    var partial = false
}

private func parse(_ chunks: [ArraySlice<UInt8>], maxLineBytes: Int) -> Outcome {
    var parser = SSEParser(maxLineBytes: maxLineBytes)
    var outcome = Outcome()
    for chunk in chunks {
        do {
            outcome.events += try parser.feed(chunk)
        } catch {
            outcome.tooLong = true
            return outcome
        }
    }
    outcome.partial = parser.hasPartialEvent
    return outcome
}

/// The `text/event-stream` parser: whole, in pieces and byte by byte it must give the same
/// events, and what `SSEWriter` writes for an event must parse back to that event.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = FuzzInput(data, size)
    let mode = input.byte()
    let seed = input.byte()
    let maxLineBytes = mode & 1 == 0 ? 16 << 20 : 8 + Int(mode >> 1)
    let bytes = input.rest

    let whole = parse([bytes], maxLineBytes: maxLineBytes)
    let split = parse(pieces(bytes, seed: seed), maxLineBytes: maxLineBytes)
    let byByte = parse(pieces(bytes, seed: 0), maxLineBytes: maxLineBytes)
    // A too-long line may be noticed before or after events completed in the same chunk.
    if !whole.tooLong && !split.tooLong {
        require(whole == split, "whole \(whole) != split \(split)")
        require(whole == byByte, "whole \(whole) != byte by byte \(byByte)")
    } else {
        require(whole.tooLong && split.tooLong && byByte.tooLong, "only some feeds found the line too long")
    }

    for event in whole.events {
        require(!event.data.contains("\r") && !event.data.unicodeScalars.contains("\r"), "data with CR")
        let written = SSEWriter.encode(data: event.data, event: event.event)
        let again = parse([written[...]], maxLineBytes: 16 << 20)
        let expected = SSEEvent(event: event.event, data: event.data)
        require(again.events == [expected] && !again.partial, "\(event) written as \(written) parsed as \(again)")
    }
    return 0
}
