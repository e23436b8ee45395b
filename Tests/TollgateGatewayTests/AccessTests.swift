import Foundation
import Testing
import TollgateCore
import TollgateHTTP
import TollgateTestSupport

/// Web pages cannot reach tollgate: a foreign `Host` (DNS rebinding) gets 421, a cross-origin
/// browser request 403 unless its origin is in `server.cors_origins` (then preflights get 204),
/// and `/admin/*` needs the admin key, or a loopback client when there is none.
@Suite struct AccessTests {
    func gateway(server: String = "{}", adminKey: String? = nil, upstream: String = "http://127.0.0.1:9/v1") throws -> InProcessGateway {
        let key = adminKey.map { #", "admin_key": "\#($0)""# } ?? ""
        return try InProcessGateway(config: #"{"listen": "127.0.0.1:4100", "server": \#(server)\#(key), "providers": {"a": {"type": "openai_compatible", "base_url": "\#(upstream)", "api_key": "k", "models": ["m"]}}}"#)
    }

    @Test func aForeignHostIsRefusedBeforeRouting() throws {
        let gate = try gateway(server: #"{"allowed_hosts": ["tollgate.lan"]}"#)
        for host in ["evil.example", "evil.example:4100", "localhost.evil.example", "127.0.0.2:4100"] {
            for path in ["/admin/providers", "/admin/spend", "/v1/models"] {
                let writer = gate.send("GET", path, headers: [("Host", host)])
                #expect(writer.wait())
                #expect(writer.status == 421, "\(host) \(path)")
                #expect(writer.json?["error"]?["code"]?.stringValue == "host_not_allowed")
            }
        }
        for host in ["localhost", "localhost:4100", "127.0.0.1:4100", "[::1]:4100", "[::1]", "tollgate.lan", "TOLLGATE.lan:8080"] {
            let writer = gate.send("GET", "/admin/providers", headers: [("Host", host)])
            #expect(writer.wait())
            #expect(writer.status == 200, "\(host)")
        }
    }

    @Test func aCrossOriginBrowserRequestIsRefused() throws {
        let upstream = try Upstreams.healthy()
        let gate = try gateway(upstream: upstream.baseURL)
        // A page's "simple" text/plain POST, which a browser sends without a preflight.
        let chat = gate.send("POST", "/v1/chat/completions", body: chatBody(model: "m"),
                             headers: [("Host", "127.0.0.1:4100"), ("Origin", "https://evil.example"), ("Content-Type", "text/plain")])
        #expect(chat.wait())
        #expect(chat.status == 403)
        #expect(chat.json?["error"]?["type"]?.stringValue == "permission_error")
        #expect(upstream.requests.isEmpty)
        let spend = gate.send("GET", "/admin/spend", headers: [("Host", "localhost:4100"), ("Sec-Fetch-Site", "cross-site")])
        #expect(spend.wait())
        #expect(spend.status == 403)
        let preflight = gate.send("OPTIONS", "/v1/chat/completions",
                                  headers: [("Origin", "https://evil.example"), ("Access-Control-Request-Method", "POST")])
        #expect(preflight.wait())
        #expect(preflight.status == 403)
        // Same origin (the dashboard served by tollgate itself) is fine.
        let same = gate.send("GET", "/v1/models", headers: [("Host", "127.0.0.1:4100"), ("Origin", "http://127.0.0.1:4100")])
        #expect(same.wait())
        #expect(same.status == 200)
    }

    @Test func configuredOriginsGetPreflightsAndCORSHeaders() throws {
        let gate = try gateway(server: #"{"cors_origins": ["https://app.example"]}"#)
        let preflight = gate.send("OPTIONS", "/v1/chat/completions",
                                  headers: [("Origin", "https://app.example"), ("Access-Control-Request-Method", "POST"),
                                            ("Access-Control-Request-Headers", "authorization, content-type")])
        #expect(preflight.wait())
        #expect(preflight.status == 204)
        #expect(preflight.headers["Access-Control-Allow-Origin"] == "https://app.example")
        #expect(preflight.headers["Access-Control-Allow-Methods"]?.contains("POST") == true)
        #expect(preflight.headers["Access-Control-Allow-Headers"] == "authorization, content-type")
        let models = gate.send("GET", "/v1/models", headers: [("Origin", "https://app.example"), ("Sec-Fetch-Site", "cross-site")])
        #expect(models.wait())
        #expect(models.status == 200)
        #expect(models.headers["Access-Control-Allow-Origin"] == "https://app.example")
        let other = gate.send("GET", "/v1/models", headers: [("Origin", "https://other.example")])
        #expect(other.wait())
        #expect(other.status == 403)
    }

    @Test func adminAnswersOnlyLoopbackClientsWithoutAKey() throws {
        let gate = try gateway()
        for (peer, status) in [("192.168.1.5", 403), ("::ffff:10.0.0.1", 403), ("127.0.0.1", 200), ("::1", 200),
                               ("::ffff:127.0.0.1", 200)] {
            let writer = gate.send("GET", "/admin/providers", peer: peer)
            #expect(writer.wait())
            #expect(writer.status == status, "\(peer)")
        }
        let unknown = gate.send("GET", "/admin/spend", peer: nil)
        #expect(unknown.wait())
        #expect(unknown.status == 403)
    }

    @Test func adminNeedsTheKeyWhenOneIsConfigured() throws {
        let gate = try gateway(adminKey: "admin-secret-0042")
        for (headers, status) in [([(String, String)](), 401), ([("Authorization", "Bearer wrong")], 401),
                                  ([("Authorization", "Bearer admin-secret-0042")], 200),
                                  ([("x-tollgate-admin-key", "admin-secret-0042")], 200)] {
            let writer = gate.send("GET", "/admin/providers", headers: headers, peer: "192.168.1.5")
            #expect(writer.wait())
            #expect(writer.status == status, "\(headers)")
        }
        let local = gate.send("GET", "/admin/spend")
        #expect(local.wait())
        #expect(local.status == 401)
    }

    @Test func theConnectionTellsTheGatewayItsPeer() throws {
        let gate = try GatewayHarness(config: GatewayHarness.config([("a", "http://127.0.0.1:9/v1", ["m"])]))
        let client = try gate.client()
        try client.send("GET /admin/providers HTTP/1.1\r\nHost: 127.0.0.1:\(gate.port)\r\n\r\n")
        #expect(try client.readResponse().status == 200)
        try client.send("GET /admin/providers HTTP/1.1\r\nHost: rebound.example:\(gate.port)\r\n\r\n")
        #expect(try client.readResponse().status == 421)
    }

    @Test func accessKeysParse() throws {
        let config = try Config.parse(Array(#"{"admin_key": "env:TG_ADMIN", "server": {"allowed_hosts": ["Box.lan"], "cors_origins": ["https://a.example"]}}"#.utf8))
        #expect(config.adminKey == .env("TG_ADMIN"))
        #expect(config.server.allowedHosts == ["box.lan"])
        #expect(config.server.corsOrigins == ["https://a.example"])
        #expect(config.unknownKeys.isEmpty)
        #expect(throws: ConfigError.self) { try Config.parse(Array(#"{"server": {"cors_origins": ["a.example"]}}"#.utf8)) }
    }
}
