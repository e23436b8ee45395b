import Testing
import TollgateCore

/// The scanner accepts exactly what the parser accepts, and finds members where they are.
@Suite struct JSONScannerTests {
    static let documents: [String] = [
        #"{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}"#,
        #"  { "a" : [1, 2.5e-3, -0, true, false, null, {"b": {}}, []] , "c": "\u00e9\ud83d\ude00\n" }  "#,
        #"[1,2,3]"#, #""just a string""#, "42", "null", "{}", "[]",
        #"{"k\"ey": 1, "k": 2}"#, #"{"unicode": "naïve ☕"}"#,
        // Invalid ones.
        #"{"a":1,}"#, #"{"a" 1}"#, #"[1,]"#, "01", "-", "1.", "1e", #""\x""#, #""\ud800""#, #""\udc00x""#, "tru",
        "{\"a\":\"\u{01}\"}", #"{"a":1} x"#, "", "   ", #"{"a":[}"#, #"{"a":"unterminated}"#, "[[[[", "{'a':1}",
    ]

    @Test(arguments: documents)
    func acceptsExactlyWhatTheParserAccepts(_ text: String) {
        let bytes = Array(text.utf8)
        let parsed = (try? JSONValue.parse(bytes)) != nil
        let scanned = (try? JSONScan.scan(bytes)) != nil
        #expect(parsed == scanned, "\(text): parser \(parsed), scanner \(scanned)")
    }

    @Test(arguments: [[0xC3, 0x28], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF], [0xC2]] as [[UInt8]])
    func invalidUTF8InAStringIsRefused(_ sequence: [UInt8]) {
        let bytes = Array(#"{"a":""#.utf8) + sequence + Array(#""}"#.utf8)
        #expect((try? JSONValue.parse(bytes)) == nil)
        #expect((try? JSONScan.scan(bytes)) == nil)
    }

    @Test func nestingBeyondTheLimitIsRefused() {
        let deep = Array(String(repeating: "[", count: 300).utf8) + Array(String(repeating: "]", count: 300).utf8)
        #expect((try? JSONScan.scan(deep)) == nil)
        #expect((try? JSONScan.scan(deep, maxDepth: 400)) != nil)
    }

    @Test func membersAreFoundAsWritten() throws {
        let text = #" {"model" : "gpt-x", "k\u0065y": [1, {"model": "inner"}], "stream":false }"#
        let bytes = Array(text.utf8)
        let scan = try JSONScan.scan(bytes)
        #expect(scan.isObject)
        #expect(scan.members.count == 3)
        bytes.withUnsafeBytes { raw in
            #expect(scan.range(of: "model", in: raw).map { String(decoding: raw[$0], as: UTF8.self) } == #""gpt-x""#)
            #expect(scan.range(of: "key", in: raw).map { String(decoding: raw[$0], as: UTF8.self) } == #"[1, {"model": "inner"}]"#)
            #expect(scan.range(of: "stream", in: raw).map { String(decoding: raw[$0], as: UTF8.self) } == "false")
            #expect(scan.range(of: "missing", in: raw) == nil)
        }
    }

    @Test func inputTokensFromBytesMatchTheParsedEstimate() throws {
        let text = #"{"model":"m","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":[{"type":"text","text":"What is in this picture?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]}"#
        let bytes = Array(text.utf8)
        let scan = try JSONScan.scan(bytes)
        let fromBytes = bytes.withUnsafeBytes { raw in
            TokenEstimator.inputTokens(raw: raw, messages: scan.range(of: "messages", in: raw), tools: scan.range(of: "tools", in: raw))
        }
        #expect(fromBytes == TokenEstimator.inputTokens(try JSONValue.parse(bytes)))
    }

    @Test func chunkTextBytesFromBytesMatchTheParsedCount() throws {
        let chunk = #"{"id":"c","choices":[{"index":0,"delta":{"content":"Hello there","tool_calls":[{"function":{"name":"get","arguments":"{\"a\":1}"}}]}}]}"#
        let bytes = Array(chunk.utf8)
        let fromBytes = bytes.withUnsafeBytes { TokenEstimator.outputBytes(rawChunk: $0) }
        // Escapes count as written (\" is two bytes): the byte count errs high, by the escapes only.
        #expect(fromBytes == TokenEstimator.outputBytes(chunk: try JSONValue.parse(bytes)) + 2)
    }
}
