import Foundation
import Testing
import TollgateCore
import TollgateTestSupport
import TollgateWire

@Suite struct EmbeddingTests {
    static let answer = #"{"object":"list","data":[{"object":"embedding","index":1,"embedding":[0.5,-1.0]},{"object":"embedding","index":0,"embedding":[0.25,2.0]}],"model":"emb","usage":{"prompt_tokens":6,"total_tokens":6}}"#

    @Test func floatAndBase64AreServedInInputOrder() throws {
        let upstream = try FakeUpstream { _, conn in try conn.respond(status: 200, body: Self.answer) }
        let gate = try GatewayHarness(config: GatewayHarness.config([("up", upstream.baseURL, ["emb"])]))
        let client = try gate.client()
        try client.send(postRequest("/v1/embeddings", json: #"{"model":"up/emb","input":["a","b"]}"#))
        let floats = try client.readResponse()
        #expect(floats.status == 200)
        let data = try #require(floats.json?["data"] as? [[String: Any]])
        #expect((data[0]["embedding"] as? [Double]) == [0.25, 2.0])
        #expect((data[1]["embedding"] as? [Double]) == [0.5, -1.0])
        #expect(floats.header("x-tollgate-provider") == "up")
        let sent = try #require(upstream.requests.first?.json)
        #expect(sent["model"] as? String == "emb")
        #expect(sent["encoding_format"] as? String == "float")

        try client.send(postRequest("/v1/embeddings", json: #"{"model":"emb","input":["a","b"],"encoding_format":"base64"}"#))
        let b64 = try client.readResponse()
        let items = try #require(b64.json?["data"] as? [[String: Any]])
        let first = try #require(items[0]["embedding"] as? String)
        #expect(EmbeddingEncoding.decodeBase64(first) == [0.25, 2.0])
        let rows = try gate.ledgerRows(atLeast: 2)
        #expect(rows.allSatisfy { $0.outcome == .ok && $0.usage.promptTokens == 6 })
    }

    @Test func badEmbeddingRequests() throws {
        let gate = try GatewayHarness(config: GatewayHarness.config([("up", "http://127.0.0.1:9/v1", ["emb"])]))
        for (body, fragment) in [(#"{"model":"emb"}"#, "input"), (#"{"model":"emb","input":[1,"a"]}"#, "token ids"),
                                 (#"{"model":"emb","input":[[1],[]]}"#, "token ids"),
                                 (#"{"model":"emb","input":"x","encoding_format":"int8"}"#, "encoding_format")] {
            let client = try gate.client()
            try client.send(postRequest("/v1/embeddings", json: body))
            let response = try client.readResponse()
            #expect(response.status == 400)
            #expect(response.errorMessage?.contains(fragment) == true)
        }
    }
}
