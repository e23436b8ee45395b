import Testing
import TollgateCore

/// `Usage(openAIBytes:)` reads the same counts as `Usage(openAI:)` on the parsed object.
@Suite struct UsageBytesTests {
    @Test(arguments: [
        #"{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}"#,
        #"{ "prompt_tokens" : 12 , "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 3, "audio_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 2}}"#,
        #"{"prompt_tokens":1,"prompt_tokens":9,"completion_tokens":null}"#,
        #"{"prompt_tokens":12.0,"completion_tokens":3e2,"prompt_tokens_details":null}"#,
        #"{"\u0070rompt_tokens":7,"completion_tokens":"8"}"#,
        #"{"prompt_tokens_details":{"cached_tokens":4,"cached_tokens":6},"completion_tokens_details":[]}"#,
        #"{"prompt_tokens":-3,"completion_tokens":123456789012345678901}"#,
        #"{}"#,
    ])
    func bytesAndParsedValuesAgree(_ json: String) throws {
        let bytes = Array(json.utf8)
        let parsed = Usage(openAI: try JSONValue.parse(bytes))
        let scanned = bytes.withUnsafeBytes { Usage(openAIBytes: $0) }
        #expect(scanned == parsed)
    }

    @Test func notAnObjectIsNoUsage() {
        for json in ["[]", "null", "12", "{", ""] {
            #expect(Array(json.utf8).withUnsafeBytes { Usage(openAIBytes: $0) } == nil, "\(json)")
        }
    }
}
