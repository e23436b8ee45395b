import TollgateCore

/// The JSON parser: any document it accepts, serialized (in document order and with sorted
/// keys), parses back to the same value, and serializing is stable.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard let value = try? JSONValue.parse(bytes) else { return 0 }

    let text = value.serialized()
    let again: JSONValue
    do {
        again = try JSONValue.parse(text)
    } catch {
        require(false, "serialized \(String(decoding: text, as: UTF8.self)) does not parse: \(error)")
        return 0
    }
    require(again == value, "round trip changed \(value) into \(again)")
    require(again.serialized() == text, "serializing is not stable")

    let sorted = value.serialized(sortedKeys: true)
    require((try? JSONValue.parse(sorted))?.serialized(sortedKeys: true) == sorted, "sorted form does not round-trip")

    // Whitespace around a document does not change it.
    let padded = Array(" \n\t".utf8) + Array(bytes) + Array("\r\n ".utf8)
    require((try? JSONValue.parse(padded)) == value, "whitespace changed the value")
    return 0
}
