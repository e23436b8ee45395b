import Foundation
import Testing
import TollgateCore
import TollgateTestSupport

@Suite struct EndpointTests {
    static let config = #"""
    {"providers": {
        "up": {"type": "openai_compatible", "base_url": "http://127.0.0.1:9/v1", "api_key": "k", "models": ["m1", "m2"]},
        "off": {"type": "openai", "api_key": "env:TOLLGATE_TEST_UNSET", "models": ["gpt-4o"]}
     },
     "routes": {"fast": ["up/m1"], "dead": ["off/gpt-4o"]}}
    """#

    @Test func healthAndModels() throws {
        let gate = try GatewayHarness(config: Self.config)
        let client = try gate.client()
        try client.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try client.readResponse().status == 200)
        try client.send("GET /v1/models HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let models = try client.readResponse()
        #expect(models.json?["object"] as? String == "list")
        let ids = (models.json?["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } ?? []
        #expect(ids == ["fast", "up/m1", "up/m2", "m1", "m2"])
    }

    @Test func badRequestsGetOpenAIShapedErrors() throws {
        let gate = try GatewayHarness(config: Self.config)
        let cases: [(String, Int, String)] = [
            ("{not json", 400, "not valid JSON"),
            ("[]", 400, "JSON object"),
            (#"{"messages":[]}"#, 400, "\"model\""),
            (#"{"model":"m1"}"#, 400, "\"messages\""),
            (#"{"model":"m1","messages":[],"stream":"yes"}"#, 400, "\"stream\""),
            (#"{"model":"nope","messages":[]}"#, 404, "fast, up/m1"),
            (#"{"model":"gpt-4o","messages":[]}"#, 503, "TOLLGATE_TEST_UNSET"),
            (#"{"model":"dead","messages":[]}"#, 503, "disabled"),
        ]
        for (body, status, fragment) in cases {
            let response = try gate.chat(body)
            #expect(response.status == status, "\(body)")
            #expect(response.errorMessage?.contains(fragment) == true, "\(body): \(response.text)")
        }
    }

    @Test func wrongMethodAndUnknownPath() throws {
        let gate = try GatewayHarness(config: Self.config)
        let client = try gate.client()
        try client.send("GET /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let wrong = try client.readResponse()
        #expect(wrong.status == 405)
        #expect(wrong.header("Allow") == "POST")
        try client.send("DELETE /v1/models HTTP/1.1\r\nHost: localhost\r\n\r\n")
        #expect(try client.readResponse().status == 405)
        try client.send("GET /v2/whatever HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let unknown = try client.readResponse()
        #expect(unknown.status == 404)
        #expect(unknown.errorType == "invalid_request_error")
    }
}
