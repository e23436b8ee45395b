import Testing
import TollgateCore
@testable import TollgateWire

@Suite struct BedrockEmbedTests {
    let provider = bedrockProvider(region: "eu-central-1")

    func input(_ inputs: [String], dimensions: Int? = nil) -> EmbeddingRequestInput {
        EmbeddingRequestInput(json: ["model": "embed", "input": .array(inputs.map { .string($0) })], rawBody: [],
                              model: "embed", inputs: inputs, encodingFormat: "float", dimensions: dimensions)
    }

    @Test func titanV2Request() throws {
        let upstream = try BedrockEmbed().encode(input(["hello world"], dimensions: 512), upstreamModel: "amazon.titan-embed-text-v2:0",
                                                 endpoint: provider.endpoint)
        #expect(upstream.url == "https://bedrock-runtime.eu-central-1.amazonaws.com/model/amazon.titan-embed-text-v2%3A0/invoke")
        #expect(upstream.headers["Content-Type"] == "application/json")
        #expect(try canonical(upstream.body) == canonical(["inputText": "hello world", "dimensions": 512, "normalize": true]))
        let v1 = try BedrockEmbed().encode(input(["hi"]), upstreamModel: "amazon.titan-embed-text-v1", endpoint: provider.endpoint)
        #expect(try canonical(v1.body) == canonical(["inputText": "hi"]))
    }

    @Test func titanTakesOneInputPerRequest() {
        let error = #expect(throws: GatewayError.self) {
            try BedrockEmbed().encode(input(["a", "b"]), upstreamModel: "amazon.titan-embed-text-v2:0", endpoint: provider.endpoint)
        }
        #expect(error?.param == "input")
        #expect(error?.message.contains("one input per request") == true)
    }

    @Test func cohereRequest() throws {
        let upstream = try BedrockEmbed().encode(input(["first", "second"]), upstreamModel: "cohere.embed-english-v3",
                                                 endpoint: provider.endpoint)
        #expect(upstream.url.hasSuffix("/model/cohere.embed-english-v3/invoke"))
        #expect(try canonical(upstream.body) == canonical(["texts": ["first", "second"], "input_type": "search_document",
                                                           "embedding_types": ["float"]]))
        let v4 = try BedrockEmbed().encode(input(["x"], dimensions: 256), upstreamModel: "us.cohere.embed-v4:0", endpoint: provider.endpoint)
        #expect(try JSONValue.parse(v4.body)["output_dimension"] == 256)
    }

    @Test(arguments: [("cohere.embed-english-v3", ["x"], 256, "dimensions"), ("amazon.titan-embed-text-v1", ["x"], 256, "dimensions"),
                      ("meta.llama3-8b-instruct-v1:0", ["x"], nil, "model"), ("cohere.embed-v4:0", [], nil, "input")])
    func refusedRequests(model: String, inputs: [String], dimensions: Int?, param: String) {
        let error = #expect(throws: GatewayError.self) {
            try BedrockEmbed().encode(input(inputs, dimensions: dimensions), upstreamModel: model, endpoint: provider.endpoint)
        }
        #expect(error?.param == param)
    }

    @Test func tooManyCohereTexts() {
        #expect(throws: GatewayError.self) {
            try BedrockEmbed().encode(input(Array(repeating: "x", count: 97)), upstreamModel: "cohere.embed-multilingual-v3",
                                      endpoint: provider.endpoint)
        }
    }

    @Test func titanResponse() throws {
        let body = Array(#"{"embedding":[0.125,-0.5,1e-3],"inputTextTokenCount":4,"embeddingsByType":{"float":[0.125,-0.5,1e-3]}}"#.utf8)
        let result = try BedrockEmbed().decodeResponse(status: 200, headers: HTTPHeaders(), body: body)
        #expect(result.vectors == [[0.125, -0.5, 0.001]])
        #expect(result.promptTokens == 4)
    }

    @Test func cohereResponses() throws {
        let headers = HTTPHeaders([("X-Amzn-Bedrock-Input-Token-Count", "7")])
        let byType = Array(#"{"id":"5f1c","texts":["a","b"],"response_type":"embeddings_by_type","embeddings":{"float":[[1,2],[3,4.5]]}}"#.utf8)
        let typed = try BedrockEmbed().decodeResponse(status: 200, headers: headers, body: byType)
        #expect(typed.vectors == [[1, 2], [3, 4.5]])
        #expect(typed.promptTokens == 7)
        let floats = Array(#"{"id":"5f1c","texts":["a"],"response_type":"embeddings_floats","embeddings":[[0.25,0.75]]}"#.utf8)
        let plain = try BedrockEmbed().decodeResponse(status: 200, headers: HTTPHeaders(), body: floats)
        #expect(plain.vectors == [[0.25, 0.75]])
        #expect(plain.promptTokens == 0)
    }

    @Test func badAnswersAndErrors() {
        for body in [#"{"embeddings":{"int8":[[1]]}}"#, #"{"embedding":["x"]}"#, "nope"] {
            #expect(throws: GatewayError.self) {
                try BedrockEmbed().decodeResponse(status: 200, headers: HTTPHeaders(), body: Array(body.utf8))
            }
        }
        let error = BedrockEmbed().decodeFailure(status: 400, headers: HTTPHeaders([("x-amzn-errortype", "ValidationException")]),
                                               body: Array(#"{"message":"Malformed input request: expected maxLength: 50000"}"#.utf8)).error
        #expect(error.status == 400 && error.type == "ValidationException")
        #expect(error.message == "Malformed input request: expected maxLength: 50000")
    }
}

@Suite struct BedrockAuthTests {
    let input = chatInput(["model": "m", "messages": [["role": "user", "content": "hi"]]])

    func request(_ provider: ResolvedProvider) throws -> UpstreamRequest {
        try provider.upstreamRequest(for: input, context: testContext(model: "amazon.nova-pro-v1:0", provider: provider))
    }

    @Test func apiKeyIsABearerToken() throws {
        let upstream = try request(bedrockProvider(apiKey: "ABSKQmVkcm9ja0FQSUtleS1leGFtcGxl"))
        #expect(upstream.headers["Authorization"] == "Bearer ABSKQmVkcm9ja0FQSUtleS1leGFtcGxl")
        #expect(upstream.awsSigV4 == nil)
        #expect(upstream.awsCredentials == nil)
    }

    @Test func keyPairIsSignedByCurl() throws {
        let upstream = try request(bedrockProvider(sessionToken: "FQoGZXIvYXdzEXAMPLE", region: "eu-west-3"))
        #expect(upstream.awsSigV4 == "aws:amz:eu-west-3:bedrock")
        #expect(upstream.awsCredentials?.accessKey == "AKIDEXAMPLE")
        #expect(upstream.awsCredentials?.secretKey == "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
        #expect(upstream.headers["x-amz-security-token"] == "FQoGZXIvYXdzEXAMPLE")
        #expect(upstream.headers["Authorization"] == nil)
        #expect(upstream.url == "https://bedrock-runtime.eu-west-3.amazonaws.com/model/amazon.nova-pro-v1%3A0/converse")

        let permanent = try request(bedrockProvider())
        #expect(permanent.headers["x-amz-security-token"] == nil)
        #expect(permanent.awsSigV4 == "aws:amz:us-east-1:bedrock")
    }

    @Test func missingCredentialsNameTheFields() throws {
        let auth = BedrockAuth()
        #expect(auth.missingCredential(ProviderCredentials(apiKey: "k")) == nil)
        #expect(auth.missingCredential(ProviderCredentials(accessKeyID: "a", secretAccessKey: "s")) == nil)
        let why = try #require(auth.missingCredential(ProviderCredentials(accessKeyID: "a")))
        #expect(why.contains("api_key") && why.contains("secret_access_key"))
        #expect(!why.contains("no access_key_id"))
        var unreadable = ProviderCredentials()
        unreadable.problems["api_key"] = "environment variable AWS_BEARER_TOKEN_BEDROCK is not set"
        #expect(auth.missingCredential(unreadable)?.contains("AWS_BEARER_TOKEN_BEDROCK") == true)
    }

    @Test func providerTypeIsRegistered() throws {
        let config = try Config.parse(Array("""
            {"providers": {"aws": {"type": "bedrock", "region": "ap-northeast-1", "access_key_id": "env:AK",
                                   "secret_access_key": "env:SK", "models": ["amazon.nova-pro-v1:0"]},
                           "aws-key": {"type": "bedrock", "region": "us-west-2"}}}
            """.utf8))
        let (providers, warnings) = try WireRegistry.resolve(config, environment: ["AK": "AKIDEXAMPLE", "SK": "secret"])
        let aws = try #require(providers.first { $0.name == "aws" })
        #expect(aws.baseURL == "https://bedrock-runtime.ap-northeast-1.amazonaws.com")
        #expect(aws.chat.name == "bedrock_converse")
        #expect(aws.embed?.name == "bedrock_embed")
        #expect(aws.auth.name == "bedrock")
        #expect(aws.isEnabled)
        let keyless = try #require(providers.first { $0.name == "aws-key" })
        #expect(!keyless.isEnabled)
        #expect(warnings.contains { $0.contains("aws-key") && $0.contains("api_key") })

        let noRegion = try Config.parse(Array(#"{"providers": {"aws": {"type": "bedrock", "api_key": "k"}}}"#.utf8))
        let error = #expect(throws: ConfigError.self) { try WireRegistry.resolve(noRegion, environment: [:]) }
        #expect(error?.key == "providers.aws.region")
    }
}
