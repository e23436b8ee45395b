import Foundation

/// Config files and request bodies for the service tests.
enum ServiceConfig {
    static func json(listen: String = "127.0.0.1:1", ledger: String, providers: [(String, String, [String])],
                     extra: String = "") -> String {
        let entries = providers.map { name, url, models in
            #""\#(name)": {"type": "openai_compatible", "base_url": "\#(url)", "api_key": "key-\#(name)", "models": [\#(models.map { "\"\($0)\"" }.joined(separator: ","))]}"#
        }
        return #"{"listen": "\#(listen)", "ledger": "\#(ledger)", \#(extra) "providers": {\#(entries.joined(separator: ","))}}"#
    }

    static func chat(model: String, stream: Bool = false) -> String {
        #"{"model":"\#(model)","stream":\#(stream),"messages":[{"role":"user","content":"hi"}]}"#
    }

    /// The port in `listening on 127.0.0.1:PORT`.
    static func port(in text: String) -> UInt16? {
        guard let range = text.range(of: "listening on 127.0.0.1:") else { return nil }
        return UInt16(text[range.upperBound...].prefix { $0.isNumber })
    }
}

/// A temporary directory removed when released.
final class TempDirectory {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-service-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    /// Writes `text` to `name` atomically (so a reload never reads half a file); returns its path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try text.write(toFile: path(name), atomically: true, encoding: .utf8)
        return path(name)
    }
}
