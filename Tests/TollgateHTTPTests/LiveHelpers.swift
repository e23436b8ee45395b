import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TollgateTestSupport

/// Polls `condition` every 10 ms for up to `timeout` seconds; true once it holds.
func waitUntil(timeout: Double = 3, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        if Date() > deadline { return false }
        usleep(10_000)
    }
    return true
}

/// Sends `bytes` on `fd` every `interval` seconds for `duration` seconds, in the background;
/// send errors (the server closed) end it quietly. It sends on its own duplicate of `fd`, so a
/// test that ends first cannot make it write into a socket that reused the number.
func trickle(_ fd: Int32, _ bytes: String, every interval: Double, for duration: Double) {
    let payload = Array(bytes.utf8)
    let fd = dup(fd)
    DispatchQueue.global().async {
        defer { Glibc.close(fd) }
        let end = Date().addingTimeInterval(duration)
        while Date() < end {
            let sent = payload.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent < 0 { return }
            usleep(UInt32(interval * 1e6))
        }
    }
}

/// Seconds until a new client gets 200 from `/health` (a 503 from the connection limit is
/// retried); nil if none came within `limit` seconds.
func secondsUntilHealthy(port: UInt16, limit: Double = 3) -> Double? {
    let start = Date()
    while Date().timeIntervalSince(start) < limit {
        if let client = try? RawClient(port: port, timeout: 1),
           (try? client.send("GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n")) != nil,
           let response = try? client.readResponse(), response.status == 200 {
            return Date().timeIntervalSince(start)
        }
        usleep(20_000)
    }
    return nil
}

/// A request head that declares a body of `length` bytes, followed by `sent` of them.
func partialBody(length: Int, sent: Int) -> String {
    "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: \(length)\r\n\r\n" + String(repeating: "x", count: sent)
}
