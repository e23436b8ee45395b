import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import Testing
@testable import TollgateSystemd

/// sd_notify's text, the shared log level and socket addresses: no systemd needed.
@Suite struct ServiceNotifierTests {
    @Test(arguments: [("one line", "one line"), ("two\nlines", "two lines"), ("a\r\nb\nc", "a b c"), ("", "")])
    func statusIsOneLine(text: String, expected: String) {
        #expect(ServiceNotifier.oneLine(text) == expected)
    }

    @Test func monotonicMicrosecondsNeverGoBack() {
        let a = ServiceNotifier.monotonicMicroseconds()
        let b = ServiceNotifier.monotonicMicroseconds()
        #expect(a > 0)
        #expect(b >= a)
    }

    @Test(arguments: [(0.0, "0"), (0.44, "0.4"), (9.94, "9.9"), (12.4, "12"), (250.0, "250"), (-1.0, "0"), (Double.nan, "0")])
    func ratesAreShortNumbers(rate: Double, text: String) {
        #expect(StatusReporter.formatRate(rate) == text)
    }

    @Test func handlersFollowTheSharedLevelUntilSetExplicitly() {
        let shared = LogLevelSetting(.info)
        var plain = PlainLogHandler(levels: shared)
        let journal = JournalLogHandler(levels: shared)
        #expect(plain.logLevel == .info)
        #expect(journal.logLevel == .info)
        shared.level = .debug  // a reload changes every handler at once
        #expect(plain.logLevel == .debug)
        #expect(journal.logLevel == .debug)
        plain.logLevel = .error
        shared.level = .trace
        #expect(plain.logLevel == .error)
        #expect(journal.logLevel == .trace)
    }

    @Test(arguments: Logger.Level.allCases)
    func everyLevelSurvivesTheSharedSetting(level: Logger.Level) {
        let shared = LogLevelSetting(.critical)
        shared.level = level
        #expect(shared.level == level)
    }

    @Test func localAddressNamesABoundLoopbackSocket() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(rc == 0)
        var bound = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        #expect(SocketActivation.localAddress(fd) == "127.0.0.1:\(UInt16(bigEndian: bound.sin_port))")
    }

    @Test func localAddressOfSomethingElseNamesTheDescriptor() throws {
        var fds: [Int32] = [0, 0]
        try #require(pipe(&fds) == 0)
        defer {
            close(fds[0])
            close(fds[1])
        }
        #expect(SocketActivation.localAddress(fds[0]) == "fd \(fds[0])")
    }
}
