import Foundation
import Testing
import TollgateCore

/// `JSONValue.parse` and `serialized`: RFC 8259 text in, the same document out.
@Suite struct JSONParserTests {
    @Test(arguments: ["0", "-0", "12", "-7", "3.25", "1e3", "1E+3", "2.5e-10", "-0.0", "123456789012345678901234567890"])
    func numbersKeepTheirLiteralText(text: String) throws {
        #expect(try JSONValue.parse(text) == .number(text))
        #expect(try JSONValue.parse(text).serializedString() == text)
    }

    @Test func numbersReadAsIntsAndDoubles() throws {
        #expect(try JSONValue.parse("42").intValue == 42)
        #expect(try JSONValue.parse("4.0").intValue == 4)
        #expect(try JSONValue.parse("4.5").intValue == nil)
        #expect(try JSONValue.parse("1e2").intValue == 100)
        #expect(try JSONValue.parse("4.5").doubleValue == 4.5)
        #expect(try JSONValue.parse("-2.5e-3").doubleValue == -0.0025)
        #expect(JSONValue.double(3) == .number("3"))
        #expect(JSONValue.double(0.5) == .number("0.5"))
        #expect(JSONValue.double(.infinity) == .number("0"))
    }

    @Test(arguments: ["01", "-", "+1", "1.", ".5", "1e", "1e+", "0x10", "NaN", "Infinity", "-Infinity", "1.5.2", "--1"])
    func malformedNumbersAreRefused(text: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(text) }
    }

    @Test func literalsAndWhitespace() throws {
        #expect(try JSONValue.parse(" \t\r\n true \n") == .bool(true))
        #expect(try JSONValue.parse("false") == .bool(false))
        #expect(try JSONValue.parse("null") == .null)
        #expect(try JSONValue.parse("[ ]") == .array([]))
        #expect(try JSONValue.parse("{ }") == .object(JSONObject()))
    }

    @Test(arguments: [
        (#""a\"b""#, "a\"b"), (#""a\\b""#, "a\\b"), (#""a\/b""#, "a/b"), (#""\b\f\n\r\t""#, "\u{8}\u{C}\n\r\t"),
        (#""\u0041\u00e9""#, "Aé"), (#""\u20AC""#, "€"), (#""\ud83d\ude00""#, "😀"), (#""\uD83D\uDE00!""#, "😀!"),
        (#""plain ü 日本""#, "plain ü 日本"), (#""\u0000""#, "\u{0}"),
    ])
    func escapesDecode(json: String, expected: String) throws {
        #expect(try JSONValue.parse(json) == .string(expected))
    }

    @Test(arguments: [
        #""\x""#, #""\u12""#, #""\u12G4""#, #""\ud83d""#, #""\ud83dx""#, #""\ud83d\u0041""#, #""\ude00""#,
        "\"tab\tinside\"", "\"line\ninside\"", #""unterminated"#, #""ends in escape\"#,
    ])
    func badStringsAreRefused(json: String) {
        #expect(throws: JSONParseError.self) { try JSONValue.parse(json) }
    }

    @Test func invalidUTF8IsRefused() {
        let bytes: [UInt8] = [0x22, 0xC3, 0x28, 0x22]  // "\xC3(" : a broken two-byte sequence
        #expect(throws: JSONParseError.self) { try JSONValue.parse(bytes) }
        let escaped: [UInt8] = Array(#""\n"#.utf8) + [0xFF, 0x22]
        #expect(throws: JSONParseError.self) { try JSONValue.parse(escaped) }
    }

    @Test func objectsKeepKeyOrderAndTheLastDuplicateWins() throws {
        let value = try JSONValue.parse(#"{"z":1,"a":{"k":[1,2,{"x":null}]},"m":"s","z":2}"#)
        #expect(value.objectValue?.keys == ["z", "a", "m", "z"])
        #expect(value["z"] == .number("2"))
        #expect(value["a"]?["k"]?[2]?["x"] == .null)
        #expect(value["a"]?["k"]?[3] == nil)
        #expect(value["missing"] == nil)
    }

    @Test func nestingUpToTheLimitIsAccepted() throws {
        let deep = String(repeating: "[", count: 256) + String(repeating: "]", count: 256)
        #expect(throws: Never.self) { try JSONValue.parse(deep) }
        let objects = String(repeating: #"{"a":"#, count: 10) + "1" + String(repeating: "}", count: 10)
        #expect(throws: Never.self) { try JSONValue.parse(Array(objects.utf8), maxDepth: 10) }
    }

    @Test func nestingBeyondTheLimitIsRefused() {
        let deep = String(repeating: "[", count: 257) + String(repeating: "]", count: 257)
        let error = #expect(throws: JSONParseError.self) { try JSONValue.parse(deep) }
        #expect(error?.message == "JSON nested too deeply")
        #expect(error?.offset == 256)
        let objects = String(repeating: #"{"a":"#, count: 11) + "1" + String(repeating: "}", count: 11)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(Array(objects.utf8), maxDepth: 10) }
        // A hostile body far deeper than the stack could take is refused, not a crash.
        let hostile = String(repeating: "[", count: 1_000_000)
        #expect(throws: JSONParseError.self) { try JSONValue.parse(hostile) }
    }

    @Test(arguments: [
        ("", "unexpected end of JSON", 0), ("   ", "unexpected end of JSON", 3), ("[1,]", "unexpected character", 3),
        ("[1 2]", "expected ',' or ']'", 3), (#"{"a" 1}"#, "expected ':'", 5), (#"{"a":1,}"#, "expected a string key", 7),
        ("{1:2}", "expected a string key", 1), (#"{"a":1"#, "unexpected end of JSON", 6), ("[1", "unexpected end of JSON", 2),
        ("tru", "unexpected end of JSON", 0), ("trux", "invalid literal", 0), ("1 2", "unexpected data after the JSON value", 2),
        ("{} x", "unexpected data after the JSON value", 3), ("'a'", "unexpected character", 0),
    ])
    func errorsSayWhatAndWhere(json: String, message: String, offset: Int) {
        let error = #expect(throws: JSONParseError.self) { try JSONValue.parse(json) }
        #expect(error?.message == message)
        #expect(error?.offset == offset)
        #expect(error?.description == "\(message) at byte \(offset)")
    }

    @Test(arguments: [
        #"{"model":"gpt-4.1","messages":[{"role":"user","content":"hi \"there\"\n"}],"temperature":0.70,"n":1e0}"#,
        #"[null,true,false,-0,1.50,"",{},[],{"":""}]"#,
        #"{"unicode":"é€😀","control":"\u0001\u001f","slash":"/"}"#,
        #"{"b":1,"a":2,"b":3}"#,
    ])
    func serializingIsARoundTrip(json: String) throws {
        let value = try JSONValue.parse(json)
        let text = value.serializedString()
        #expect(try JSONValue.parse(text) == value)
        // Compact input comes back byte for byte.
        #expect(text == json)
    }

    @Test func serializingEscapesWhatJSONRequires() {
        let value: JSONValue = .string("q\" b\\ n\n r\r t\t nul\u{0} bel\u{7} us\u{1F} del\u{7F} é")
        #expect(value.serializedString() == #""q\" b\\ n\n r\r t\t nul\u0000 bel\u0007 us\u001f del\#u{7F} é""#)
        let parsed = try? JSONValue.parse(value.serialized())
        #expect(parsed == value)
    }

    @Test func sortedKeysGiveACanonicalForm() throws {
        let a = try JSONValue.parse(#"{"b":{"y":1,"x":2},"a":[{"d":1,"c":2}]}"#)
        let b = try JSONValue.parse(#"{"a":[{"c":2,"d":1}],"b":{"x":2,"y":1}}"#)
        #expect(a != b)
        #expect(a.serializedString(sortedKeys: true) == b.serializedString(sortedKeys: true))
        #expect(a.serializedString(sortedKeys: true) == #"{"a":[{"c":2,"d":1}],"b":{"x":2,"y":1}}"#)
    }

    @Test func agreesWithFoundationOnAMixedDocument() throws {
        let json = #"{"id":"x","list":[1,2.5,-3e2,true,null,"s\u00e9"],"nested":{"deep":{"deeper":[[]]}}}"#
        let ours = try JSONValue.parse(json)
        let reparsed = try JSONSerialization.jsonObject(with: Data(ours.serialized())) as? NSDictionary
        let foundation = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? NSDictionary
        #expect(reparsed != nil)
        #expect(reparsed == foundation)
    }
}
