import Foundation
import Logging
import TollgateCore
import TollgateGateway
import TollgateHTTP
import TollgateLedger
import TollgateTestSupport
import TollgateWire

/// A live tollgate (gateway + HTTP server + ledger) on 127.0.0.1:0, configured from JSON.
/// Shared across test threads: its parts are thread-safe and it is not mutated after init.
final class GatewayHarness: @unchecked Sendable {
    let server: HTTPServer
    let gateway: Gateway
    let ledger: Ledger
    let port: UInt16
    let directory: URL

    let ownsDirectory: Bool

    /// `directory` reuses another harness's folder (and so its ledger), as after a restart.
    init(config json: String, environment: [String: String] = [:], directory existing: URL? = nil,
         loops: Int = 2, settings: ((inout ServerSettings) -> Void)? = nil) throws {
        ownsDirectory = existing == nil
        directory = existing ?? FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var config = try Config.parse(Array(json.utf8))
        settings?(&config.server)
        let resolved = try WireRegistry.resolve(config, environment: environment)
        ledger = try Ledger(path: directory.appendingPathComponent("ledger.sqlite").path)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        gateway = Gateway(snapshot: GatewaySnapshot(config: config, providers: resolved.providers), ledger: ledger,
                          logger: logger)
        server = HTTPServer(settings: config.server, loops: loops, handler: gateway)
        port = try server.start(listen: ListenAddress(host: "127.0.0.1", port: 0))
    }

    deinit {
        server.shutdown()
        ledger.close()
        if ownsDirectory { try? FileManager.default.removeItem(at: directory) }
    }

    func client(timeout: Double = 10) throws -> RawClient { try RawClient(port: port, timeout: timeout) }

    /// Sends one chat request and reads the whole response.
    func chat(_ body: String, headers: String = "") throws -> TestResponse {
        let client = try client()
        try client.send(postRequest("/v1/chat/completions", json: body, extraHeaders: headers))
        return try client.readResponse()
    }

    /// A config with one provider per (name, upstream) pair, in order, each listing `models`.
    /// `extra` is added to every provider object (e.g. `"budget": {...}`); `failover` is the top-level object.
    static func config(_ providers: [(name: String, url: String, models: [String])], routes: String = "{}",
                       retries: Int = 0, extra: String = "", failover: String = "{}") -> String {
        let entries = providers.enumerated().map { i, p in
            #""\#(p.name)": {"type": "openai_compatible", "base_url": "\#(p.url)", "api_key": "key-\#(p.name)", "priority": \#(i + 1), "retries": \#(retries), "models": [\#(p.models.map { "\"\($0)\"" }.joined(separator: ","))]\#(extra.isEmpty ? "" : ", " + extra)}"#
        }
        return #"{"listen": "127.0.0.1:0", "ledger": "unused.sqlite", "providers": {\#(entries.joined(separator: ","))}, "routes": \#(routes), "failover": \#(failover)}"#
    }

    /// Waits until the ledger holds `count` rows (they are written on the ledger's queue).
    func ledgerRows(atLeast count: Int, timeout: Double = 5) throws -> [LedgerRow] {
        let deadline = Date().addingTimeInterval(timeout)
        var rows = try ledger.allRows()
        while rows.count < count, Date() < deadline {
            usleep(10_000)
            rows = try ledger.allRows()
        }
        return rows
    }
}

/// A chat request body.
func chatBody(model: String, stream: Bool = false, content: String = "hi", extra: String = "") -> String {
    #"{"model":"\#(model)","stream":\#(stream),"messages":[{"role":"user","content":"\#(content)"}]\#(extra)}"#
}
