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
}
