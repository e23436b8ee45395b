import Testing
import TollgateCore
@testable import TollgateWire

@Suite struct GeminiEmbedTests {
    let provider = geminiProvider()
    let embed = GeminiEmbed()

    func input(_ texts: [String], dimensions: Int? = nil) -> EmbeddingRequestInput {
        let json: JSONValue = ["model": "gem/embed", "input": .array(texts.map { .string($0) })]
        return EmbeddingRequestInput(json: json, rawBody: json.serialized(), model: "gem/embed", inputs: texts,
                                     encodingFormat: "base64", dimensions: dimensions)
    }

    @Test func batchRequestHasOneEntryPerInput() throws {
        let upstream = try embed.encode(input(["The quick brown fox", "jumps over the lazy dog"], dimensions: 4),
                                        upstreamModel: "gemini-embedding-001", endpoint: provider.endpoint)
        #expect(upstream.url
            == "https://generativelanguage.googleapis.com/v1beta/models/gemini-embedding-001:batchEmbedContents")
        #expect(upstream.headers["Content-Type"] == "application/json")
        #expect(try canonical(upstream.body) == canonical(try Fixture.json("gemini/embed-request.expected.json")))
    }

    @Test func dimensionsAreOptional() throws {
        let upstream = try embed.encode(input(["one"]), upstreamModel: "models/text-embedding-004", endpoint: provider.endpoint)
        #expect(upstream.url.hasSuffix("/v1beta/models/text-embedding-004:batchEmbedContents"))
        #expect(try JSONValue.parse(upstream.body)
            == ["requests": [["model": "models/text-embedding-004", "content": ["parts": [["text": "one"]]]]]])
    }

    @Test func emptyInputIsRefused() {
        #expect(throws: GatewayError.self) {
            try embed.encode(input([]), upstreamModel: "gemini-embedding-001", endpoint: provider.endpoint)
        }
    }

    @Test func responseGivesVectorsInOrderAndNoTokenCount() throws {
        let result = try embed.decodeResponse(status: 200, headers: HTTPHeaders(),
                                              body: try Fixture.bytes("gemini/embed-response.json"))
        #expect(result.vectors == [[0.013168523, -0.008711934, -0.046782676, 0.00069968984],
                                   [-0.0252301, 0.017407373, 0.0031226447, -0.0659214]])
        #expect(result.promptTokens == 0)
    }

    @Test func base64RoundTrip() throws {
        let result = try embed.decodeResponse(status: 200, headers: HTTPHeaders(),
                                              body: try Fixture.bytes("gemini/embed-response.json"))
        let openAI = EmbeddingEncoding.responseJSON(result, model: "gem/embed", format: "base64")
        let items = try #require(openAI["data"]?.arrayValue)
        #expect(items.count == 2)
        let decoded = items.map { $0["embedding"]?.stringValue.flatMap(EmbeddingEncoding.decodeBase64) }
        #expect(decoded == result.vectors.map { Optional($0) })
        #expect(openAI["usage"] == ["prompt_tokens": 0, "total_tokens": 0])
    }

    @Test func malformedAnswersAndErrors() throws {
        #expect(throws: GatewayError.self) {
            try embed.decodeResponse(status: 200, headers: HTTPHeaders(), body: Array(#"{"embeddings":[{}]}"#.utf8))
        }
        #expect(throws: GatewayError.self) {
            try embed.decodeResponse(status: 200, headers: HTTPHeaders(), body: Array("<html>".utf8))
        }
        let error = embed.decodeFailure(status: 400, headers: HTTPHeaders(), body: try Fixture.bytes("gemini/error-400.json")).error
        #expect(error.type == "INVALID_ARGUMENT")
        #expect(error.code == "API_KEY_INVALID")
    }

    @Test func registryKnowsTheGeminiProviderType() throws {
        let type = try #require(WireRegistry.providerTypes["gemini"])
        #expect(type.baseURL == "https://generativelanguage.googleapis.com")
        #expect(type.protocolName == "google_gemini")
        #expect(type.embedProtocolName == "gemini_embed")
        #expect(type.authName == "google")
        #expect(WireRegistry.chatProtocols["google_gemini"] is GeminiChat)
        #expect(WireRegistry.embeddingProtocols["gemini_embed"] is GeminiEmbed)
    }
}
