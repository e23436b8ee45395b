import Testing
import TollgateCore
@testable import TollgateWire

/// One upstream error answer and the failure it must classify as.
struct FailureCase: Sendable, CustomTestStringConvertible {
    var label: String
    var status: Int
    var headers: [(String, String)] = []
    var body: String
    var kind: UpstreamFailure.Kind
    var retryAfter: Double?

    var testDescription: String { label }

    func check(_ decode: (Int, HTTPHeaders, [UInt8]) -> UpstreamFailure) {
        let failure = decode(status, HTTPHeaders(headers), Array(body.utf8))
        #expect(failure.kind == kind, "\(label)")
        #expect(failure.status == status, "\(label)")
        #expect(failure.retryAfter == retryAfter, "\(label)")
        #expect(failure.error.retryAfter == retryAfter, "\(label)")
    }
}

/// Each family's error decoder classifies by what the body says when it says more than the status.
@Suite struct FailureClassificationTests {
    static func anthropic(_ type: String, _ message: String = "m") -> String {
        #"{"type":"error","error":{"type":"\#(type)","message":"\#(message)"}}"#
    }

    static let anthropicCases: [FailureCase] = [
        FailureCase(label: "529 overloaded_error", status: 529, body: anthropic("overloaded_error", "Overloaded"), kind: .overloaded),
        FailureCase(label: "500 overloaded_error", status: 500, body: anthropic("overloaded_error"), kind: .overloaded),
        FailureCase(label: "429 rate_limit_error", status: 429, headers: [("retry-after", "17")],
                    body: anthropic("rate_limit_error"), kind: .rateLimited, retryAfter: 17),
        FailureCase(label: "400 prompt too long", status: 400,
                    body: anthropic("invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"),
                    kind: .contextLength),
        FailureCase(label: "400 invalid_request_error", status: 400, body: anthropic("invalid_request_error", "bad"),
                    kind: .badRequest),
        FailureCase(label: "401 authentication_error", status: 401, body: anthropic("authentication_error"), kind: .auth),
        FailureCase(label: "403 permission_error", status: 403, body: anthropic("permission_error"), kind: .auth),
        FailureCase(label: "404 not_found_error", status: 404, body: anthropic("not_found_error"), kind: .notFound),
        FailureCase(label: "500 api_error", status: 500, body: anthropic("api_error"), kind: .serverError),
        FailureCase(label: "504 timeout_error", status: 504, body: anthropic("timeout_error"), kind: .timeout),
        FailureCase(label: "502 proxy page", status: 502, headers: [("Retry-After", "5")], body: "<html>Bad Gateway</html>",
                    kind: .serverError, retryAfter: 5),
    ]

    @Test(arguments: anthropicCases) func anthropic(_ c: FailureCase) {
        c.check { AnthropicMessages().decodeFailure(status: $0, headers: $1, body: $2) }
    }

    static func gemini(_ code: Int, _ status: String, _ message: String = "m", details: String = "") -> String {
        #"{"error":{"code":\#(code),"message":"\#(message)","status":"\#(status)","details":[\#(details)]}}"#
    }

    static let geminiCases: [FailureCase] = [
        FailureCase(label: "429 RESOURCE_EXHAUSTED with RetryInfo", status: 429,
                    body: gemini(429, "RESOURCE_EXHAUSTED",
                                 details: #"{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"37s"}"#),
                    kind: .rateLimited, retryAfter: 37),
        FailureCase(label: "400 RESOURCE_EXHAUSTED", status: 400, body: gemini(400, "RESOURCE_EXHAUSTED"), kind: .rateLimited),
        FailureCase(label: "503 UNAVAILABLE", status: 503, headers: [("Retry-After", "5")], body: gemini(503, "UNAVAILABLE"),
                    kind: .overloaded, retryAfter: 5),
        FailureCase(label: "500 UNAVAILABLE", status: 500, body: gemini(500, "UNAVAILABLE"), kind: .overloaded),
        FailureCase(label: "400 token count over the maximum", status: 400,
                    body: gemini(400, "INVALID_ARGUMENT",
                                 "The input token count (1048577) exceeds the maximum number of tokens allowed (1048576)."),
                    kind: .contextLength),
        FailureCase(label: "400 INVALID_ARGUMENT", status: 400, body: gemini(400, "INVALID_ARGUMENT", "bad field"),
                    kind: .badRequest),
        FailureCase(label: "403 PERMISSION_DENIED", status: 403, body: gemini(403, "PERMISSION_DENIED"), kind: .auth),
        FailureCase(label: "401 UNAUTHENTICATED", status: 401, body: gemini(401, "UNAUTHENTICATED"), kind: .auth),
        FailureCase(label: "404 NOT_FOUND", status: 404, body: gemini(404, "NOT_FOUND"), kind: .notFound),
        FailureCase(label: "500 INTERNAL", status: 500, body: gemini(500, "INTERNAL"), kind: .serverError),
        FailureCase(label: "504 DEADLINE_EXCEEDED", status: 504, body: gemini(504, "DEADLINE_EXCEEDED"), kind: .timeout),
        FailureCase(label: "502 proxy page", status: 502, body: "<html>Bad Gateway</html>", kind: .serverError),
    ]

    @Test(arguments: geminiCases) func gemini(_ c: FailureCase) {
        c.check { GeminiChat().decodeFailure(status: $0, headers: $1, body: $2) }
        c.check { GeminiEmbed().decodeFailure(status: $0, headers: $1, body: $2) }
    }

    static func bedrock(_ message: String) -> String { #"{"message":"\#(message)"}"# }

    static let bedrockCases: [FailureCase] = [
        FailureCase(label: "429 ThrottlingException", status: 429, headers: [("x-amzn-ErrorType", "ThrottlingException:http://internal.amazon.com/")],
                    body: bedrock("Too many requests"), kind: .rateLimited),
        FailureCase(label: "400 ThrottlingException in the body", status: 400,
                    body: #"{"__type":"com.amazon.bedrock#ThrottlingException","message":"slow down"}"#, kind: .rateLimited),
        FailureCase(label: "400 ServiceQuotaExceededException", status: 400,
                    headers: [("x-amzn-ErrorType", "ServiceQuotaExceededException")], body: bedrock("quota"), kind: .rateLimited),
        FailureCase(label: "503 ServiceUnavailableException", status: 503, headers: [("X-Amzn-ErrorType", "ServiceUnavailableException")],
                    body: bedrock("unavailable"), kind: .overloaded),
        FailureCase(label: "429 ModelNotReadyException", status: 429, headers: [("X-Amzn-ErrorType", "ModelNotReadyException")],
                    body: bedrock("not ready"), kind: .overloaded),
        FailureCase(label: "400 ValidationException, input too long", status: 400,
                    headers: [("X-Amzn-ErrorType", "ValidationException")],
                    body: bedrock("Input is too long for requested model."), kind: .contextLength),
        FailureCase(label: "400 ValidationException, tokens over the maximum", status: 400,
                    headers: [("X-Amzn-ErrorType", "ValidationException")],
                    body: bedrock("The number of input tokens exceeds the limit of 8192 tokens."), kind: .contextLength),
        FailureCase(label: "400 ValidationException", status: 400, headers: [("X-Amzn-ErrorType", "ValidationException")],
                    body: bedrock("Malformed input request"), kind: .badRequest),
        FailureCase(label: "403 AccessDeniedException", status: 403, headers: [("X-Amzn-ErrorType", "AccessDeniedException")],
                    body: bedrock("denied"), kind: .auth),
        FailureCase(label: "403 UnrecognizedClientException", status: 403,
                    headers: [("X-Amzn-ErrorType", "UnrecognizedClientException:")], body: bedrock("bad token"), kind: .auth),
        FailureCase(label: "404 ResourceNotFoundException", status: 404,
                    headers: [("X-Amzn-ErrorType", "ResourceNotFoundException")], body: bedrock("no model"), kind: .notFound),
        FailureCase(label: "408 ModelTimeoutException", status: 408, headers: [("X-Amzn-ErrorType", "ModelTimeoutException")],
                    body: bedrock("timed out"), kind: .timeout),
        FailureCase(label: "424 ModelErrorException", status: 424, headers: [("X-Amzn-ErrorType", "ModelErrorException")],
                    body: bedrock("model failed"), kind: .serverError),
        FailureCase(label: "500 InternalServerException", status: 500,
                    headers: [("X-Amzn-ErrorType", "InternalServerException")], body: bedrock("oops"), kind: .serverError),
        FailureCase(label: "502 proxy page", status: 502, body: "<html>Bad Gateway</html>", kind: .serverError),
    ]

    @Test(arguments: bedrockCases) func bedrock(_ c: FailureCase) {
        c.check { BedrockConverse().decodeFailure(status: $0, headers: $1, body: $2) }
        c.check { BedrockEmbed().decodeFailure(status: $0, headers: $1, body: $2) }
    }

    static func openAI(_ type: String, code: String, message: String = "m") -> String {
        #"{"error":{"message":"\#(message)","type":"\#(type)","param":null,"code":"\#(code)"}}"#
    }

    static let openAICases: [FailureCase] = [
        FailureCase(label: "400 context_length_exceeded", status: 400,
                    body: openAI("invalid_request_error", code: "context_length_exceeded"), kind: .contextLength),
        FailureCase(label: "422 context_length_exceeded", status: 422,
                    body: openAI("invalid_request_error", code: "context_length_exceeded"), kind: .contextLength),
        FailureCase(label: "400 maximum context length wording", status: 400,
                    body: #"{"error":"This model's maximum context length is 8192 tokens."}"#, kind: .contextLength),
        FailureCase(label: "429 rate_limit_exceeded", status: 429, headers: [("retry-after-ms", "1500"), ("retry-after", "2")],
                    body: openAI("requests", code: "rate_limit_exceeded"), kind: .rateLimited, retryAfter: 1.5),
        FailureCase(label: "503 overloaded", status: 503, headers: [("retry-after", "1")],
                    body: openAI("server_error", code: "overloaded"), kind: .overloaded, retryAfter: 1),
        FailureCase(label: "401 invalid_api_key", status: 401, body: openAI("invalid_request_error", code: "invalid_api_key"),
                    kind: .auth),
        FailureCase(label: "404 model_not_found", status: 404, body: openAI("invalid_request_error", code: "model_not_found"),
                    kind: .notFound),
        FailureCase(label: "400 invalid_request_error", status: 400, body: openAI("invalid_request_error", code: "bad"),
                    kind: .badRequest),
        FailureCase(label: "500 server_error", status: 500, body: openAI("server_error", code: "x"), kind: .serverError),
        FailureCase(label: "504 gateway timeout", status: 504, body: "upstream timed out", kind: .timeout),
        FailureCase(label: "502 proxy page", status: 502, body: "<html>Bad Gateway</html>", kind: .serverError),
    ]

    @Test(arguments: openAICases) func openAI(_ c: FailureCase) {
        c.check { OpenAIChat().decodeFailure(status: $0, headers: $1, body: $2) }
        c.check { OpenAIEmbed().decodeFailure(status: $0, headers: $1, body: $2) }
        c.check { OpenAIResponses().decodeFailure(status: $0, headers: $1, body: $2) }
    }

    /// The exchange's façade asks the provider's own protocols.
    @Test func providerFailuresUseItsProtocols() {
        let provider = testProvider(type: "anthropic", chat: AnthropicMessages())
        let failure = provider.chatFailure(status: 529, headers: HTTPHeaders(), body: Array(Self.anthropic("overloaded_error").utf8))
        #expect(failure.kind == .overloaded)
        var gemini = testProvider(type: "gemini", chat: GeminiChat())
        gemini.embed = GeminiEmbed()
        let embedding = gemini.embeddingFailure(status: 429, headers: HTTPHeaders(),
                                                body: Array(Self.gemini(429, "RESOURCE_EXHAUSTED").utf8))
        #expect(embedding.kind == .rateLimited)
    }
}
