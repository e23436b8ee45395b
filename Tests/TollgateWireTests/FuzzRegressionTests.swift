import Testing
import TollgateCore
import TollgateWire

/// Inputs the fuzz targets (`make fuzz`, Fuzz/) found breaking an invariant, kept as tests.
@Suite struct FuzzRegressionTests {
    static func decode(_ chat: any ChatProtocol, _ text: String) -> [StreamOutput] {
        let context = ChatContext(endpoint: UpstreamEndpoint(baseURL: "https://upstream.test"), upstreamModel: "m",
                                  stream: true, clientWantsUsage: true)
        var decoder = chat.makeStreamDecoder(context: context)
        let outputs = Array(text.utf8).withUnsafeBytes { decoder.feed($0) }
        return outputs + decoder.finish()
    }

    static let chunk = #"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}]}"#

    /// fuzz target openai_chat: an error event followed by `[DONE]` gave `.error` then `.done`.
    @Test func openAIStreamEndsAtAnError() {
        let outputs = Self.decode(OpenAIChat(), """
            data: {"error":{"message":"boom","type":"server_error","param":null,"code":null}}

            data: [DONE]

            data: \(Self.chunk)


            """)
        #expect(outputs.count == 1)
        guard case .error(let error) = outputs.first else {
            Issue.record("expected an error, got \(outputs)")
            return
        }
        #expect(error.message == "boom")
    }

    @Test func openAIStreamEndsAtDone() {
        let outputs = Self.decode(OpenAIChat(), "data: [DONE]\n\ndata: \(Self.chunk)\n\n")
        #expect(outputs == [.done])
    }

    /// fuzz targets openai_chat and google_gemini: `Retry-After: 44400e944044` (or `inf`) gave an
    /// infinite retry-after, which `GatewayError.responseHeaders` turned into a trap (`Int(inf)`)
    /// when the all-failed summary carried it to the client.
    @Test(arguments: [("retry-after", "inf"), ("retry-after", "44400e944044"), ("retry-after-ms", "Infinity"),
                      ("retry-after", "nan")])
    func nonFiniteRetryAfterIsIgnored(header: String, value: String) {
        let body = Array(#"{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}"#.utf8)
        for chat in [OpenAIChat(), GeminiChat()] as [any ChatProtocol] {
            let failure = chat.decodeFailure(status: 429, headers: HTTPHeaders([(header, value)]), body: body)
            #expect(failure.retryAfter == nil)
            #expect(failure.error.responseHeaders["Retry-After"] == nil)
        }
    }

    @Test func hugeRetryAfterIsSentClamped() {
        let error = GatewayError.rateLimited("slow down", retryAfter: 1e300)
        #expect(error.responseHeaders["Retry-After"] == "1000000000")
        #expect(GatewayError.rateLimited("slow down", retryAfter: .infinity).responseHeaders["Retry-After"] == nil)
        #expect(GatewayError.rateLimited("slow down", retryAfter: 2.2).responseHeaders["Retry-After"] == "3")
    }
}
