import Foundation
import Logging
import Synchronization
import Testing
import TollgateCore
import TollgateTestSupport

/// An upstream message that echoes the operator's key never reaches the client, the
/// providers' `last_error`, the all-failed summary or the log.
@Suite struct SecretRedactionTests {
    static let key = "sk-live-Secret0123456789abcdefXYZ"
    static let otherKey = "AIzaSyA1b2c3d4e5f6g7h8i9j0klmnopqrstu"

    /// Every log line, message and metadata, as text.
    final class LogLines: Sendable {
        let lines = Mutex<[String]>([])
        var all: String { lines.withLock { $0.joined(separator: "\n") } }
        var logger: Logger {
            Logger(label: "capture") { _ in Handler(sink: self) }
        }
        struct Handler: LogHandler {
            let sink: LogLines
            var metadata: Logger.Metadata = [:]
            var logLevel: Logger.Level = .trace
            subscript(metadataKey key: String) -> Logger.Metadata.Value? {
                get { metadata[key] }
                set { metadata[key] = newValue }
            }
            func log(event: LogEvent) {
                sink.lines.withLock { $0.append("\(event.message) \(event.metadata ?? [:])") }
            }
        }
    }

    func gateway(_ providers: [(name: String, url: String, models: [String])], logs: LogLines) throws -> InProcessGateway {
        let json = GatewayHarness.config(providers).replacingOccurrences(of: "\"key-a\"", with: "\"\(Self.key)\"")
        return try InProcessGateway(config: json, logger: logs.logger)
    }

    @Test func anEchoedKeyIsRedactedFromTheAnswerHealthAndLog() throws {
        let echo = #"{"error":{"message":"Incorrect API key provided: \#(Self.key). Also \#(Self.otherKey) and Bearer abcdefghijklmnop1234.","type":"invalid_request_error","code":"invalid_api_key"}}"#
        let bad = try FakeUpstream { _, conn in try conn.respond(status: 401, body: echo) }
        let alsoBad = try FakeUpstream { _, conn in try conn.respond(status: 500, body: echo) }
        let logs = LogLines()
        let gate = try gateway([("a", bad.baseURL, ["m"]), ("b", alsoBad.baseURL, ["m"])], logs: logs)
        let writer = gate.send("POST", "/v1/chat/completions", body: chatBody(model: "m"))
        #expect(writer.wait())
        #expect(writer.status >= 400)
        let admin = gate.send("GET", "/admin/providers")
        #expect(admin.wait())
        #expect(admin.text.contains("last_error"))
        for (place, text) in [("answer", writer.text), ("admin", admin.text), ("log", logs.all)] {
            #expect(!text.contains(Self.key), "\(place): \(text)")
            #expect(!text.contains(Self.otherKey), "\(place): \(text)")
            #expect(!text.contains("abcdefghijklmnop1234"), "\(place): \(text)")
        }
        #expect(writer.text.contains("Incorrect API key provided: [redacted]"))
    }

    @Test func aMidStreamErrorEventIsRedacted() throws {
        let upstream = try FakeUpstream { _, conn in
            try conn.startStream()
            try conn.chunk(Canned.chunk("partial"))
            try conn.chunk(#"data: {"error":{"message":"key \#(Self.key) was revoked","type":"server_error"}}"# + "\n\n")
            try conn.endChunks()
        }
        let logs = LogLines()
        let gate = try gateway([("a", upstream.baseURL, ["m"])], logs: logs)
        let writer = gate.send("POST", "/v1/chat/completions", body: chatBody(model: "m", stream: true))
        #expect(writer.wait())
        #expect(writer.text.contains("partial"))
        #expect(writer.text.contains("was revoked"))
        #expect(!writer.text.contains(Self.key))
        #expect(!logs.all.contains(Self.key))
    }

    @Test func keyShapesAndConfiguredSecretsAreMasked() {
        let redactor = SecretRedactor(secrets: ["plain-configured-secret", "short"])
        #expect(redactor.redact("x plain-configured-secret y") == "x [redacted] y")
        #expect(redactor.redact("sk-ant-api03-abcdefghijklmnop") == "[redacted]")
        #expect(redactor.redact("id AKIAIOSFODNN7EXAMPLE.") == "id [redacted].")
        // Ordinary words, model ids and short values stay.
        for text in ["model claude-3-5-sonnet-20240620 is short", "anthropic.claude-3-5-sonnet-20240620-v1:0",
                     "req_00ab12cd34ef5678", "a short answer"] {
            #expect(redactor.redact(text) == text)
        }
    }
}
