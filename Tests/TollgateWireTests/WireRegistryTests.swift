import Testing
import TollgateCore
@testable import TollgateWire

@Suite struct WireRegistryTests {
    /// Every declared provider type names protocols and an auth strategy the registry knows.
    @Test(arguments: WireRegistry.providerTypes.keys.sorted()) func providerTypeIsComplete(_ name: String) throws {
        let type = try #require(WireRegistry.providerTypes[name])
        #expect(WireRegistry.chatProtocols[type.protocolName] != nil)
        #expect(type.embedProtocolName.map { WireRegistry.embeddingProtocols[$0] != nil } ?? true)
        #expect(WireRegistry.authStrategies[type.authName] != nil)
        for field in type.fields where type.baseURL != nil && field.required {
            #expect(type.baseURL!.contains("{\(field.name)}") || type.query?.contains("{\(field.name)}") == true)
        }
    }

    @Test func fieldsOfAnotherTypeAreNamedInAWarning() throws {
        let config = try Config.parse(Array("""
            {"providers": {"oa": {"type": "openai", "api_key": "k", "region": "eu-west-1"},
                           "aws": {"type": "bedrock", "api_key": "k", "region": "eu-west-1"}}}
            """.utf8))
        let (_, warnings) = try WireRegistry.resolve(config, environment: [:])
        #expect(warnings == ["providers.oa.region is not used by type openai and is ignored"])
        #expect(WireRegistry.providerTypes["azure"]?.requiredFields == ["endpoint", "deployment", "api_version"])
    }

    /// Dropping parameters is the protocol's decision; the body sent no longer holds them.
    @Test func unsupportedParametersAreDroppedByTheProtocol() throws {
        let json: JSONValue = ["model": "m", "messages": [["role": "user", "content": "hi"]], "seed": 7, "n": 1]
        let (input, dropped) = AnthropicMessages().accepting(chatInput(json))
        #expect(dropped == ["seed", "n"])
        #expect(input.json["seed"] == nil)
        #expect(try JSONValue.parse(input.rawBody)["n"] == nil)
        #expect(OpenAIChat().accepting(chatInput(json)).dropped.isEmpty)
        let provider = testProvider(type: "anthropic", chat: AnthropicMessages())
        #expect(provider.acceptedChatInput(chatInput(json)).dropped == ["seed", "n"])
    }

    /// An encoder sees the endpoint, never the credentials.
    @Test func contextCarriesTheEndpointOnly() {
        let provider = testProvider(baseURL: "https://azure.test/openai/deployments/d", query: "api-version=1")
        let context = testContext(model: "m", provider: provider)
        #expect(context.endpoint == UpstreamEndpoint(baseURL: "https://azure.test/openai/deployments/d", query: "api-version=1"))
        #expect(context.endpoint.url(path: "/chat/completions")
            == "https://azure.test/openai/deployments/d/chat/completions?api-version=1")
    }
}
