import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import TollgateLedger
import TollgateTestSupport

/// The built daemon run the way systemd runs it. The test plays systemd: it reads the notify
/// socket, passes a listening socket as fd 3, and sends SIGHUP and SIGTERM. Serialized: each
/// test owns a daemon and timing matters.
@Suite(.serialized) struct ServiceTests {
    @Test func notifiesAndServesOnThePassedSocket() throws {
        let upstream = try FakeUpstream { request, connection in
            try connection.respond(status: 200, body: Canned.completion(model: "model-a"))
        }
        defer { upstream.stop() }
        let notify = try NotifySocket()
        defer { notify.stop() }
        let passed = try listeningSocket()
        // The config's own address is taken, so the daemon can only serve on the passed socket.
        let taken = try listeningSocket()
        defer { close(taken.fd) }
        let dir = try TempDirectory()
        let configPath = try dir.write("config.json", ServiceConfig.json(
            listen: "127.0.0.1:\(taken.port)", ledger: dir.path("ledger.sqlite"),
            providers: [("alpha", upstream.baseURL, ["model-a"])]))

        let daemon = try DaemonProcess(arguments: ["serve", "--config", configPath, "--loops", "2"],
                                       environment: ["NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "200000"],
                                       listenFD: passed.fd, logPath: dir.path("daemon.log"))
        close(passed.fd)  // the daemon holds the only copy now

        let ready = try #require(notify.wait { $0.contains("READY=1") }, "no READY=1; log:\n\(daemon.log)")
        #expect(ready.text.contains("STATUS=listening on 127.0.0.1:\(passed.port), 1 of 1 providers enabled"))
        #expect(daemon.log.contains("listening on 127.0.0.1:\(passed.port) (sockets passed by systemd)"))

        let models = try RawClient(port: passed.port)
        try models.send("GET /v1/models HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let list = try models.readResponse()
        #expect(list.status == 200)
        #expect(list.text.contains("\"model-a\""))
        let chat = try RawClient(port: passed.port)
        try chat.send(postRequest("/v1/chat/completions", json: ServiceConfig.chat(model: "model-a")))
        #expect(try chat.readResponse().status == 200)

        // WATCHDOG_USEC=200000: a ping every 100 ms while both loops turn.
        let watchdogStart = notify.count { $0 == "WATCHDOG=1" }
        #expect(poll(timeout: 3) { notify.count { $0 == "WATCHDOG=1" } >= watchdogStart + 5 },
                "watchdog pings: \(notify.count { $0 == "WATCHDOG=1" })")

        // The periodic status line counts both requests.
        let status = notify.wait(after: ready.index, timeout: 6) { $0.hasPrefix("STATUS=") && $0.contains("2 served") }
        let line = try #require(status?.text, "status lines: \(notify.messages.filter { $0.hasPrefix("STATUS=") })")
        #expect(line.hasPrefix("STATUS=1 provider, "))
        #expect(line.contains(" req/s, 0 in flight, 2 served, $0.00 today"))

        daemon.signal(SIGTERM)
        let stopping = notify.wait(after: ready.index) { $0.hasPrefix("STOPPING=1") }
        #expect(stopping != nil)
        #expect(stopping?.text.contains("EXTEND_TIMEOUT_USEC=") == true)
        #expect(daemon.waitForExit() == 0, "log:\n\(daemon.log)")
        #expect(daemon.log.contains("stopped"))

        let rows = try Ledger(path: dir.path("ledger.sqlite")).allRows()
        #expect(rows.count == 1)
        #expect(rows.first?.provider == "alpha")
    }

    @Test func reloadAppliesAGoodConfigAndKeepsTheCurrentOneOnABadOne() throws {
        // Streams take ~1 s, so one is still in flight while the config changes.
        let upstream = try FakeUpstream { request, connection in
            guard request.json?["stream"] as? Bool == true else {
                return try connection.respond(status: 200, body: Canned.completion(model: "m"))
            }
            try connection.startStream()
            for i in 0..<6 {
                try connection.chunk(Canned.chunk("part\(i) "))
                usleep(150_000)
            }
            try connection.chunk(Canned.finish)
            try connection.chunk(Canned.done)
            try connection.endChunks()
        }
        defer { upstream.stop() }
        let notify = try NotifySocket()
        defer { notify.stop() }
        let passed = try listeningSocket()
        let dir = try TempDirectory()
        let ledger = dir.path("ledger.sqlite")
        let configPath = try dir.write("config.json", ServiceConfig.json(
            ledger: ledger, providers: [("alpha", upstream.baseURL, ["model-a"])]))

        let daemon = try DaemonProcess(arguments: ["serve", "--config", configPath, "--loops", "2"],
                                       environment: ["NOTIFY_SOCKET": notify.path], listenFD: passed.fd,
                                       logPath: dir.path("daemon.log"))
        close(passed.fd)
        let ready = try #require(notify.wait { $0.contains("READY=1") }, "no READY=1; log:\n\(daemon.log)")
        #expect(try modelIDs(port: passed.port) == ["alpha/model-a", "model-a"])

        // A stream starts on config A…
        let stream = try RawClient(port: passed.port)
        try stream.send(postRequest("/v1/chat/completions", json: ServiceConfig.chat(model: "model-a", stream: true)))
        let head = try stream.readHead()
        #expect(head.status == 200)
        #expect(head.header("x-tollgate-provider") == "alpha")
        _ = try stream.readChunk()

        // …config B replaces alpha with beta and changes a limit that needs a restart.
        try dir.write("config.json", ServiceConfig.json(
            ledger: ledger, providers: [("beta", upstream.baseURL, ["model-b"])],
            extra: #""server": {"max_connections": 100},"#))
        daemon.signal(SIGHUP)
        let reloading = try #require(notify.wait(after: ready.index) { $0.hasPrefix("RELOADING=1") })
        #expect(reloading.text.contains("MONOTONIC_USEC="))
        let reloaded = try #require(notify.wait(after: reloading.index) { $0.hasPrefix("READY=1") })
        #expect(reloaded.text.contains("STATUS=reloaded \(configPath), 1 of 1 providers enabled"))
        #expect(try modelIDs(port: passed.port) == ["beta/model-b", "model-b"])
        let chat = try RawClient(port: passed.port)
        try chat.send(postRequest("/v1/chat/completions", json: ServiceConfig.chat(model: "model-a")))
        #expect(try chat.readResponse().status == 404)
        #expect(daemon.log.contains("server.max_connections changed; it applies only after a restart"))

        // The stream that started on config A finishes on it.
        var body: [UInt8] = []
        while let chunk = try stream.readChunk() { body += chunk }
        let events = sseData(body)
        #expect(events.last == "[DONE]")
        #expect(events.filter { $0.contains("part") }.count == 5)

        // A bad config is refused with the reason, and config B stays.
        try dir.write("config.json", #"{"ledger": "\#(ledger)", "providers": {"broken": {"base_url": "http://127.0.0.1:9"}}}"#)
        daemon.signal(SIGHUP)
        let reloading2 = try #require(notify.wait(after: reloaded.index) { $0.hasPrefix("RELOADING=1") })
        let refused = try #require(notify.wait(after: reloading2.index) { $0.hasPrefix("READY=1") })
        #expect(refused.text.contains("reload failed, running the previous configuration"))
        #expect(daemon.waitForLog("reload failed, keeping the current configuration: invalid config \(configPath): providers.broken.type: is required"),
                "log:\n\(daemon.log)")
        #expect(try modelIDs(port: passed.port) == ["beta/model-b", "model-b"])

        // Not valid JSON either.
        try dir.write("config.json", #"{"providers": "#)
        daemon.signal(SIGHUP)
        let refused2 = try #require(notify.wait(after: refused.index) { $0.hasPrefix("READY=1") })
        #expect(refused2.text.contains("reload failed"))
        #expect(daemon.waitForLog("invalid config \(configPath): not valid JSON"), "log:\n\(daemon.log)")
        #expect(try modelIDs(port: passed.port) == ["beta/model-b", "model-b"])

        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit() == 0, "log:\n\(daemon.log)")
    }

    @Test func sigtermDrainsAStreamingRequestThenExitsZero() throws {
        let upstream = try FakeUpstream { request, connection in
            try connection.startStream()
            for i in 0..<8 {
                try connection.chunk(Canned.chunk("part\(i) "))
                usleep(250_000)
            }
            try connection.chunk(Canned.finish)
            try connection.chunk(Canned.done)
            try connection.endChunks()
        }
        defer { upstream.stop() }
        let notify = try NotifySocket()
        defer { notify.stop() }
        let dir = try TempDirectory()
        let configPath = try dir.write("config.json", ServiceConfig.json(
            listen: "127.0.0.1:0", ledger: dir.path("ledger.sqlite"),
            providers: [("alpha", upstream.baseURL, ["model-a"])]))
        // No socket passed: the daemon binds the config's address itself.
        let daemon = try DaemonProcess(arguments: ["serve", "--config", configPath, "--loops", "2"],
                                       environment: ["NOTIFY_SOCKET": notify.path], logPath: dir.path("daemon.log"))
        let ready = try #require(notify.wait { $0.contains("READY=1") }, "no READY=1; log:\n\(daemon.log)")
        let port = try #require(ServiceConfig.port(in: ready.text), "\(ready.text)")

        let stream = try RawClient(port: port)
        try stream.send(postRequest("/v1/chat/completions", json: ServiceConfig.chat(model: "model-a", stream: true)))
        #expect(try stream.readHead().status == 200)
        var body = try #require(try stream.readChunk())

        daemon.signal(SIGTERM)
        let stopping = try #require(notify.wait(after: ready.index) { $0.hasPrefix("STOPPING=1") })
        #expect(stopping.text.contains("STATUS=stopping: 1 request in flight"))
        // Refused at once, while the stream (2 s in all) is still running.
        #expect(poll(timeout: 0.5) { connectionRefused(port: port) }, "new connections are still accepted")

        while let chunk = try stream.readChunk() { body += chunk }
        let events = sseData(body)
        #expect(events.last == "[DONE]")
        #expect(events.filter { $0.contains("part") }.count == 8)
        #expect(stream.isClosedByServer())
        #expect(daemon.waitForExit() == 0, "log:\n\(daemon.log)")
        #expect(daemon.log.contains("SIGTERM: stopping; 1 request in flight, grace period 30s"))
        #expect(!daemon.log.contains("grace period of"))

        // The row was committed and the WAL checkpointed into the database file.
        #expect((try? FileManager.default.attributesOfItem(atPath: dir.path("ledger.sqlite-wal"))[.size] as? Int) ?? 0 == 0)
        let rows = try Ledger(path: dir.path("ledger.sqlite")).allRows()
        #expect(rows.count == 1)
        #expect(rows.first?.outcome == .ok)
        #expect(rows.first?.streamed == true)
    }

    @Test func withoutSystemdARequestOutlivingTheGracePeriodIsCut() throws {
        let upstream = try FakeUpstream { request, connection in
            try connection.startStream()
            for i in 0..<100 {
                try connection.chunk(Canned.chunk("part\(i) "))
                usleep(100_000)
            }
        }
        defer { upstream.stop() }
        let dir = try TempDirectory()
        let configPath = try dir.write("config.json", ServiceConfig.json(
            listen: "127.0.0.1:0", ledger: dir.path("ledger.sqlite"),
            providers: [("alpha", upstream.baseURL, ["model-a"])], extra: #""shutdown_grace_seconds": 1,"#))
        // No NOTIFY_SOCKET, no LISTEN_FDS, no WATCHDOG_USEC: every sd_* call is a no-op.
        let daemon = try DaemonProcess(arguments: ["serve", "--config", configPath, "--loops", "1"],
                                       environment: [:], logPath: dir.path("daemon.log"))
        #expect(daemon.waitForLog(" listening on "), "log:\n\(daemon.log)")
        let port = try #require(ServiceConfig.port(in: daemon.log), "\(daemon.log)")
        #expect(daemon.log.contains("logging to stderr"))
        #expect(!daemon.log.contains("watchdog"))

        let stream = try RawClient(port: port)
        try stream.send(postRequest("/v1/chat/completions", json: ServiceConfig.chat(model: "model-a", stream: true)))
        #expect(try stream.readHead().status == 200)
        _ = try stream.readChunk()

        let start = Date()
        daemon.signal(SIGTERM)
        #expect(daemon.waitForExit() == 0, "log:\n\(daemon.log)")
        let took = Date().timeIntervalSince(start)
        #expect(took >= 0.9 && took < 5, "took \(took) s")
        #expect(daemon.log.contains("grace period of 1s is over: cutting 1 request still in flight"))
        #expect(stream.isClosedByServer())
        // The cut request still has its ledger row.
        let rows = try Ledger(path: dir.path("ledger.sqlite")).allRows()
        #expect(rows.count == 1, "rows: \(rows)")
    }

    /// `GET /v1/models` ids, in order.
    private func modelIDs(port: UInt16) throws -> [String] {
        let client = try RawClient(port: port)
        try client.send("GET /v1/models HTTP/1.1\r\nHost: localhost\r\n\r\n")
        let response = try client.readResponse()
        let data = response.json?["data"] as? [[String: Any]] ?? []
        return data.compactMap { $0["id"] as? String }
    }
}
