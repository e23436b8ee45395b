#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Logging
import TollgateCore
import TollgateGateway
import TollgateHTTP

/// Checks providers with one minimal chat request each, through an in-process gateway on a
/// loopback port: the same protocols, auth and error handling the daemon uses, no ledger.
enum ProviderProbe {
    struct Result {
        var provider: String
        var model: String
        var ok: Bool
        var latencyMs: Double
        var answer: String
        var error: String
    }

    static let prompt = "Reply with the single word OK."

    static func probe(_ snapshot: GatewaySnapshot, names: [String], model: String? = nil) throws -> [Result] {
        var logger = Logger(label: "tollgate.probe")
        logger.logLevel = .critical
        let gateway = Gateway(snapshot: snapshot, ledger: nil, logger: logger)
        let server = HTTPServer(settings: snapshot.config.server, loops: 1, handler: gateway)
        let port = try server.start(listen: ListenAddress(host: "127.0.0.1", port: 0))
        defer { server.shutdown() }
        return names.map { name in
            guard let provider = snapshot.provider(named: name) else {
                return Result(provider: name, model: "-", ok: false, latencyMs: 0, answer: "", error: "no such provider")
            }
            if let why = provider.disabledReason {
                return Result(provider: name, model: "-", ok: false, latencyMs: 0, answer: "", error: "disabled: \(why)")
            }
            guard let chosen = model ?? snapshot.servedModels[name]?.first else {
                return Result(provider: name, model: "-", ok: false, latencyMs: 0, answer: "",
                              error: "no model known for it: list one in its \"models\"")
            }
            let body: JSONValue = ["model": .string("\(name)/\(chosen)"), "max_tokens": 16,
                                   "messages": [["role": "user", "content": .string(prompt)]]]
            let started = DispatchTime.now().uptimeNanoseconds
            let (status, reply) = post(port: port, path: "/v1/chat/completions", body: body.serialized())
            let ms = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e6
            let json = try? JSONValue.parse(reply)
            guard status == 200 else {
                let message = json?["error"]?["message"]?.stringValue ?? (status == 0 ? "no answer from the probe server" : "HTTP \(status)")
                return Result(provider: name, model: chosen, ok: false, latencyMs: ms, answer: "", error: message)
            }
            let text = json?["choices"]?[0]?["message"]?["content"]?.stringValue ?? ""
            return Result(provider: name, model: chosen, ok: true, latencyMs: ms, answer: text, error: "")
        }
    }

    /// One blocking HTTP/1.1 POST to 127.0.0.1 (`Connection: close`): the status and body.
    static func post(port: UInt16, path: String, body: [UInt8]) -> (Int, [UInt8]) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return (0, []) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return (0, []) }
        var request = Array("POST \(path) HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: \(body.count)\r\n\r\n".utf8)
        request += body
        var sent = 0
        while sent < request.count {
            let n = request[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return (0, []) }
            sent += n
        }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        guard let split = findHeadEnd(response) else { return (0, []) }
        let head = String(decoding: response[..<split], as: UTF8.self)
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        var payload = Array(response[(split + 4)...])
        if head.lowercased().contains("transfer-encoding: chunked") { payload = dechunk(payload) }
        return (status, payload)
    }

    static func findHeadEnd(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for i in 0...(bytes.count - 4) where bytes[i] == 13 && bytes[i + 1] == 10 && bytes[i + 2] == 13 && bytes[i + 3] == 10 {
            return i
        }
        return nil
    }

    static func dechunk(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            var j = i
            while j + 1 < bytes.count, !(bytes[j] == 13 && bytes[j + 1] == 10) { j += 1 }
            guard let size = Int(String(decoding: bytes[i..<j], as: UTF8.self).split(separator: ";").first ?? "", radix: 16),
                  size > 0, j + 2 + size <= bytes.count else { break }
            out += bytes[(j + 2)..<(j + 2 + size)]
            i = j + 2 + size + 2
        }
        return out
    }
}
