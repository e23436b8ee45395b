import Foundation
import Testing
import TollgateCore
@testable import TollgateWire

/// Loads fixture files from `Fixtures/` (copied into the test bundle).
enum Fixture {
    static func url(_ path: String) throws -> URL {
        let base = try #require(Bundle.module.resourceURL).appendingPathComponent("Fixtures")
        return base.appendingPathComponent(path)
    }

    static func bytes(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: try url(path)))
    }

    static func json(_ path: String) throws -> JSONValue {
        try JSONValue.parse(try bytes(path))
    }

    static func text(_ path: String) throws -> String {
        String(decoding: try bytes(path), as: UTF8.self)
    }
}

/// Canonical JSON text (sorted keys, compact) so documents compare regardless of key order.
func canonical(_ value: JSONValue) -> String { value.serializedString(sortedKeys: true) }
func canonical(_ bytes: [UInt8]) throws -> String { canonical(try JSONValue.parse(bytes)) }

/// A provider for tests: defaults for everything a protocol may read.
func testProvider(type: String = "openai", baseURL: String = "https://upstream.test/v1", chat: any ChatProtocol = OpenAIChat(),
                  auth: any AuthStrategy = BearerAuth(), apiKey: String? = "sk-test", fields: [String: String] = [:],
                  query: String? = nil) -> ResolvedProvider {
    ResolvedProvider(name: "p", type: type, baseURL: baseURL, query: query, chat: chat, auth: auth,
                     credentials: ProviderCredentials(apiKey: apiKey), fields: fields)
}

func testContext(model: String, stream: Bool = false, includeUsage: Bool = false, provider: ResolvedProvider,
                 maxOutputTokens: Int? = nil) -> ChatContext {
    provider.chatContext(upstreamModel: model, stream: stream, clientWantsUsage: includeUsage,
                         maxOutputTokens: maxOutputTokens, requestID: "req_test", created: 1_700_000_000)
}

func chatInput(_ json: JSONValue) -> ChatRequestInput {
    ChatRequestInput(json: json, rawBody: json.serialized(), model: json["model"]?.stringValue ?? "",
                     stream: json["stream"]?.boolValue ?? false)
}

/// Feeds `bytes` to a fresh decoder in pieces of `chunkSize` (0 = whole) and returns every output.
func replay(_ bytes: [UInt8], chunkSize: Int, decoder make: () -> any ChatStreamDecoder) -> [StreamOutput] {
    var decoder = make()
    var outputs: [StreamOutput] = []
    let size = chunkSize <= 0 ? max(bytes.count, 1) : chunkSize
    var offset = 0
    while offset < bytes.count {
        let end = min(offset + size, bytes.count)
        bytes[offset..<end].withUnsafeBytes { outputs += decoder.feed($0) }
        offset = end
    }
    outputs += decoder.finish()
    return outputs
}

/// The chunk sizes every recorded stream is replayed at (0 = the whole stream at once).
let replayChunkSizes = [1, 7, 64, 0]
