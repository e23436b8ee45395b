import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Synchronization
import Testing
import TollgateSystemd

/// The parts of the systemd integration that need no daemon: watchdog, journal fields,
/// journal detection and the status line.
@Suite struct SystemdPiecesTests {
    @Test func watchdogPingsOnlyWhileEveryLoopTurns() throws {
        let loops = [DispatchQueue(label: "test.loop.0"), DispatchQueue(label: "test.loop.1")]
        let pings = Atomic<Int>(0)
        let stalls = Mutex<[[Int]]>([])
        let recoveries = Atomic<Int>(0)
        let watchdog = ServiceWatchdog(loopQueues: loops, interval: 0.04,
                                       ping: { pings.add(1, ordering: .relaxed) },
                                       onStall: { late in stalls.withLock { $0.append(late) } },
                                       onRecovery: { recoveries.add(1, ordering: .relaxed) })
        watchdog.start()
        defer { watchdog.stop() }
        #expect(poll(timeout: 3) { pings.load(ordering: .relaxed) >= 5 })

        // Loop 1 gets stuck: the pings stop and the stall names it.
        let release = DispatchSemaphore(value: 0)
        loops[1].async { release.wait() }
        #expect(poll(timeout: 3) { !stalls.withLock { $0.isEmpty } })
        let during = pings.load(ordering: .relaxed)
        usleep(300_000)
        #expect(pings.load(ordering: .relaxed) == during)
        #expect(stalls.withLock { $0 } == [[1]])

        // It turns again: the pings resume.
        release.signal()
        #expect(poll(timeout: 3) { pings.load(ordering: .relaxed) >= during + 3 })
        #expect(recoveries.load(ordering: .relaxed) == 1)
    }

    @Test func journalEntryCarriesTheRequestFields() {
        let fields = JournalLogHandler.fields(
            level: .info, message: "POST /v1/chat/completions status=200",
            metadata: ["request_id": "req-1", "provider": "openai", "model": "gpt-4.1-mini", "status": "200",
                       "cost_usd": "0.0012", "odd-key.x": "v"],
            file: "Gateway.swift", function: "logRequest", line: 42)
        let byName = Dictionary(fields.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(byName["MESSAGE"] == "POST /v1/chat/completions status=200")
        #expect(byName["PRIORITY"] == "6")
        #expect(byName["SYSLOG_IDENTIFIER"] == "tollgate")
        #expect(byName["CODE_FILE"] == "Gateway.swift")
        #expect(byName["CODE_LINE"] == "42")
        #expect(byName["CODE_FUNC"] == "logRequest")
        #expect(byName["TOLLGATE_REQUEST_ID"] == "req-1")
        #expect(byName["TOLLGATE_PROVIDER"] == "openai")
        #expect(byName["TOLLGATE_MODEL"] == "gpt-4.1-mini")
        #expect(byName["TOLLGATE_STATUS"] == "200")
        #expect(byName["TOLLGATE_COST_USD"] == "0.0012")
        #expect(byName["TOLLGATE_ODD_KEY_X"] == "v")
        #expect(fields.count == 12)
    }

    @Test(arguments: [(Logger.Level.trace, 7), (.debug, 7), (.info, 6), (.notice, 5), (.warning, 4), (.error, 3),
                      (.critical, 2)])
    func journalPriorityIsTheSyslogNumber(level: Logger.Level, priority: Int) {
        #expect(JournalLogHandler.priority(level) == priority)
    }

    @Test func journalFieldNamesAreValid() {
        #expect(JournalLogHandler.fieldName(forMetadataKey: "request_id") == "TOLLGATE_REQUEST_ID")
        #expect(JournalLogHandler.fieldName(forMetadataKey: "") == nil)
        let long = JournalLogHandler.fieldName(forMetadataKey: String(repeating: "k", count: 100))
        #expect(long?.count == 64)
    }

    @Test func stderrIsTheJournalOnlyWhenDeviceAndInodeMatch() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-js-\(UUID().uuidString)").path
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        try #require(fd >= 0)
        defer {
            close(fd)
            unlink(path)
        }
        var info = stat()
        try #require(fstat(fd, &info) == 0)
        let stream = "\(info.st_dev):\(info.st_ino)"
        #expect(JournalLogHandler.stderrIsJournal(journalStream: stream, fd: fd))
        #expect(!JournalLogHandler.stderrIsJournal(journalStream: "\(info.st_dev):\(info.st_ino + 1)", fd: fd))
        #expect(!JournalLogHandler.stderrIsJournal(journalStream: nil, fd: fd))
        #expect(!JournalLogHandler.stderrIsJournal(journalStream: "garbage", fd: fd))
    }

    @Test func statusLineTellsAnOperatorWhatIsGoingOn() {
        let sample = StatusSample(providersEnabled: 4, providersTotal: 4, requestsStarted: 1234, requestsInFlight: 3)
        #expect(StatusReporter.format(sample, requestsPerSecond: 12.4, extra: "$1.23 today")
                == "4 providers, 12 req/s, 3 in flight, 1234 served, $1.23 today")
        let some = StatusSample(providersEnabled: 2, providersTotal: 3, requestsStarted: 7, requestsInFlight: 0)
        #expect(StatusReporter.format(some, requestsPerSecond: 0.44) == "2 of 3 providers enabled, 0.4 req/s, 0 in flight, 7 served")
        let one = StatusSample(providersEnabled: 1, providersTotal: 1, requestsStarted: 0, requestsInFlight: 0)
        #expect(StatusReporter.format(one, requestsPerSecond: 0) == "1 provider, 0 req/s, 0 in flight, 0 served")
    }

    @Test func statusNoteIsSentAtOnceAndCleared() {
        let sent = Mutex<[String]>([])
        let reporter = StatusReporter(interval: 60, sample: {
            StatusSample(providersEnabled: 1, providersTotal: 1, requestsStarted: 0, requestsInFlight: 0)
        }, send: { line in sent.withLock { $0.append(line) } })
        reporter.start()
        defer { reporter.stop() }
        reporter.setNote("last reload failed: bad")
        reporter.setNote(nil)
        #expect(poll(timeout: 2) { sent.withLock { $0.count } == 2 })
        #expect(sent.withLock { $0 } == ["1 provider, 0 req/s, 0 in flight, 0 served; last reload failed: bad",
                                         "1 provider, 0 req/s, 0 in flight, 0 served"])
    }
}

/// Waits until `condition` holds (polling), up to `timeout` seconds.
func poll(timeout: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}
