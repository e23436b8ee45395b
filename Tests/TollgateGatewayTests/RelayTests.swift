import Foundation
import Testing
import TollgateCore
import TollgateTestSupport

@Suite struct RelayTests {
    @Test func nonStreamedAnswerIsRelayedWithTheModelRewritten() throws {
        let upstream = try FakeUpstream { request, conn in
            let model = request.json?["model"] as? String ?? "?"
            try conn.respond(status: 200, body: Canned.completion(model: model))
        }
        let gate = try GatewayHarness(config: GatewayHarness.config([("up", upstream.baseURL, ["gpt-4.1-mini"])]))
        let response = try gate.chat(chatBody(model: "up/gpt-4.1-mini"), headers: "Authorization: Bearer client-secret\r\n")
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "application/json")
        #expect(response.header("x-tollgate-provider") == "up")
        #expect(response.header("x-tollgate-model") == "gpt-4.1-mini")
        #expect(response.header("x-tollgate-attempts") == "1")
        #expect(response.text == Canned.completion(model: "gpt-4.1-mini"))
        let seen = try #require(upstream.requests.first)
        #expect(seen.path == "/v1/chat/completions")
        #expect(seen.json?["model"] as? String == "gpt-4.1-mini")
        #expect(seen.header("Authorization") == "Bearer key-up")
        let rows = try gate.ledgerRows(atLeast: 1)
        #expect(rows.count == 1)
        #expect(rows.first?.outcome == .ok)
        #expect(rows.first?.usage.promptTokens == 7)
        #expect(rows.first?.tokensEstimated == false)
    }

    @Test func bareModelAndAliasRouteToTheirProviders() throws {
        let a = try FakeUpstream { _, conn in try conn.respond(status: 200, body: Canned.completion(model: "a")) }
        let b = try FakeUpstream { _, conn in try conn.respond(status: 200, body: Canned.completion(model: "b")) }
        let gate = try GatewayHarness(config: GatewayHarness.config(
            [("first", a.baseURL, ["shared", "only-a"]), ("second", b.baseURL, ["shared", "only-b"])],
            routes: #"{"fast": ["second/only-b", "first/only-a"]}"#))
        #expect(try gate.chat(chatBody(model: "shared")).header("x-tollgate-provider") == "first")
        #expect(try gate.chat(chatBody(model: "only-b")).header("x-tollgate-provider") == "second")
        let routed = try gate.chat(chatBody(model: "fast"))
        #expect(routed.header("x-tollgate-provider") == "second")
        #expect(routed.header("x-tollgate-model") == "only-b")
    }

    @Test func streamIsRelayedChunkByChunk() throws {
        // The upstream holds the rest of its stream until the client has seen the first
        // event: a relay that buffered would never deliver it, and the test would time out.
        let firstSeen = DispatchSemaphore(value: 0)
        let upstream = try FakeUpstream { request, conn in
            try conn.startStream()
            try conn.chunk(Canned.chunk("Hel"))
            guard firstSeen.wait(timeout: .now() + 10) == .success else { throw TestError("client never saw the first event") }
            try conn.chunk(Canned.chunk("lo"))
            try conn.chunk(Canned.finish + Canned.done)
            try conn.endChunks()
        }
        let gate = try GatewayHarness(config: GatewayHarness.config([("up", upstream.baseURL, ["m"])]))
        let client = try gate.client()
        try client.send(postRequest("/v1/chat/completions", json: chatBody(model: "m", stream: true)))
        let head = try client.readHead()
        #expect(head.status == 200)
        #expect(head.header("Content-Type") == "text/event-stream")
        #expect(head.header("x-tollgate-provider") == "up")
        let first = try #require(try client.readChunk())
        #expect(sseData(first).first?.contains("\"Hel\"") == true)
        firstSeen.signal()
        var rest: [UInt8] = []
        while let chunk = try client.readChunk() { rest += chunk }
        let events = sseData(rest)
        #expect(events.count == 3)
        #expect(events[0].contains("\"lo\""))
        #expect(events.last == "[DONE]")
        // Keep-alive survives a stream.
        try client.send(postRequest("/v1/chat/completions", json: chatBody(model: "m", stream: true)))
        firstSeen.signal()
        #expect(try client.readResponse().status == 200)
    }

    @Test func upstreamClientErrorKeepsStatusAndMessage() throws {
        let upstream = try FakeUpstream { _, conn in
            try conn.respond(status: 400, body: #"{"error":{"message":"messages[0].content is bad","type":"invalid_request_error","param":"messages","code":null}}"#)
        }
        let gate = try GatewayHarness(config: GatewayHarness.config([("up", upstream.baseURL, ["m"])]))
        for stream in [false, true] {
            let response = try gate.chat(chatBody(model: "m", stream: stream))
            #expect(response.status == 400)
            #expect(response.header("Content-Type") == "application/json")
            #expect(response.errorMessage == "messages[0].content is bad")
            #expect(response.errorType == "invalid_request_error")
        }
        #expect(upstream.requests.count == 2)
    }

    @Test func rateLimitKeepsRetryAfter() throws {
        let upstream = try FakeUpstream { _, conn in
            try conn.respond(status: 429, headers: [("retry-after", "7")],
                             body: #"{"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}}"#)
        }
        let gate = try GatewayHarness(config: GatewayHarness.config([("up", upstream.baseURL, ["m"])]))
        let response = try gate.chat(chatBody(model: "m"))
        #expect(response.status == 429)
        #expect(response.header("Retry-After") == "7")
        #expect(response.errorMessage == "slow down")
    }

    @Test func upstreamServerErrorWithTextBody() throws {
        let upstream = try FakeUpstream { _, conn in
            try conn.respond(status: 500, contentType: "text/plain", body: "upstream exploded")
        }
        let gate = try GatewayHarness(config: GatewayHarness.config([("up", upstream.baseURL, ["m"])]))
        let response = try gate.chat(chatBody(model: "m"))
        #expect(response.status == 500)
        #expect(response.errorMessage?.contains("upstream exploded") == true)
        #expect(response.errorType == "server_error")
        let rows = try gate.ledgerRows(atLeast: 1)
        #expect(rows.first?.outcome == .upstreamError)
        #expect(rows.first?.status == 500)
    }

    @Test func upstreamDyingMidStreamEndsWithAnErrorEventNotDone() throws {
        let upstream = try FakeUpstream { _, conn in
            try conn.startStream()
            try conn.chunk(Canned.chunk("partial"))
            conn.close()
        }
        let gate = try GatewayHarness(config: GatewayHarness.config([("up", upstream.baseURL, ["m"])]))
        let response = try gate.chat(chatBody(model: "m", stream: true))
        #expect(response.status == 200)
        let events = sseData(response.body)
        #expect(events.count == 2)
        #expect(events.first?.contains("partial") == true)
        #expect(events.last?.contains("\"error\"") == true)
        #expect(events.last?.contains("upstream_stream_interrupted") == true)
        #expect(!events.contains("[DONE]"))
        let rows = try gate.ledgerRows(atLeast: 1)
        #expect(rows.first?.outcome == .upstreamError)
        #expect(rows.first?.tokensEstimated == true)
    }

    @Test func clientDisconnectCancelsTheUpstreamTransfer() throws {
        let started = DispatchSemaphore(value: 0)
        let upstream = try FakeUpstream { _, conn in
            try conn.startStream()
            started.signal()
            // Streams until tollgate hangs up; a write then fails and the fake records a disconnect.
            for i in 0..<2000 {
                try conn.chunk(Canned.chunk("tick\(i)"))
                usleep(5_000)
            }
            try conn.endChunks()
        }
        let gate = try GatewayHarness(config: GatewayHarness.config([("up", upstream.baseURL, ["m"])]))
        do {
            let client = try gate.client()
            try client.send(postRequest("/v1/chat/completions", json: chatBody(model: "m", stream: true)))
            _ = try client.readHead()
            _ = try client.readChunk()
            #expect(started.wait(timeout: .now() + 5) == .success)
        }  // the client's socket closes here, mid-stream
        #expect(upstream.wait(timeout: 5) { upstream.disconnects == 1 })
        let rows = try gate.ledgerRows(atLeast: 1)
        #expect(rows.first?.outcome == .clientCancelled)
    }

    @Test func unreachableUpstreamIs502() throws {
        let upstream = try FakeUpstream { _, _ in }
        let url = upstream.baseURL
        upstream.stop()
        let gate = try GatewayHarness(config: GatewayHarness.config([("down", url, ["m"])]))
        let response = try gate.chat(chatBody(model: "m"))
        #expect(response.status == 502)
        #expect(response.errorMessage?.contains("Could not connect") == true)
    }

    @Test func failsOverToTheNextProviderBeforeTheFirstByte() throws {
        let broken = try FakeUpstream { _, conn in
            try conn.respond(status: 503, body: #"{"error":{"message":"overloaded","type":"server_error"}}"#)
        }
        let healthy = try FakeUpstream { _, conn in try conn.respond(status: 200, body: Canned.completion(model: "m")) }
        let gate = try GatewayHarness(config: GatewayHarness.config([("a", broken.baseURL, ["m"]), ("b", healthy.baseURL, ["m"])]))
        let response = try gate.chat(chatBody(model: "m", stream: false))
        #expect(response.status == 200)
        #expect(response.header("x-tollgate-provider") == "b")
        #expect(response.header("x-tollgate-attempts") == "2")
        let rows = try gate.ledgerRows(atLeast: 2)
        #expect(rows.map(\.outcome.rawValue) == ["failed_over", "ok"])
    }

    @Test func upstreamThatIgnoresStreamIsStillServedAsSSE() throws {
        let upstream = try FakeUpstream { _, conn in try conn.respond(status: 200, body: Canned.completion(model: "m", text: "whole")) }
        let gate = try GatewayHarness(config: GatewayHarness.config([("up", upstream.baseURL, ["m"])]))
        let response = try gate.chat(chatBody(model: "m", stream: true))
        #expect(response.header("Content-Type") == "text/event-stream")
        let events = sseData(response.body)
        #expect(events.first?.contains("\"whole\"") == true)
        #expect(events.last == "[DONE]")
    }

    @Test func manySequentialRequestsWithAHeadThatArrivesBeforeItsBody() throws {
        // Head and body in separate writes, a moment apart, on a reused upstream connection.
        let upstream = try FakeUpstream { request, conn in
            let body = Canned.completion(model: "m")
            try conn.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n")
            usleep(2_000)
            try conn.write(body)
        }
        let gate = try GatewayHarness(config: GatewayHarness.config([("up", upstream.baseURL, ["m"])]))
        let client = try gate.client()
        for stream in [false, true] {
            for _ in 0..<40 {
                try client.send(postRequest("/v1/chat/completions", json: chatBody(model: "m", stream: stream)))
                let response = try client.readResponse()
                #expect(response.status == 200)
            }
        }
        #expect(upstream.connectionsAccepted <= 2)
    }
}
