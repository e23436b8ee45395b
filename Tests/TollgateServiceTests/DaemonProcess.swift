import Foundation
#if canImport(Glibc)
import Glibc
#endif
import TollgateTestSupport

/// The built `tollgate` binary run as systemd would run it: a clean environment, stdout and
/// stderr to a file, optionally a listening socket as fd 3 with `LISTEN_FDS=1` and
/// `LISTEN_PID` set to the daemon's own pid (through `/bin/sh`, whose pid `exec` keeps).
final class DaemonProcess {
    let pid: pid_t
    let logPath: String
    private var exitStatus: Int32?

    /// - Parameters:
    ///   - arguments: arguments after the binary (`serve --config …`).
    ///   - environment: the daemon's whole environment (PATH is added).
    ///   - listenFD: a listening socket to pass as fd 3 (socket activation).
    init(arguments: [String], environment: [String: String], listenFD: Int32? = nil, logPath: String) throws {
        let binary = try Self.binaryPath()
        self.logPath = logPath
        var argv: [String]
        var env = environment
        env["PATH"] = env["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        // A sanitized build's daemon takes the sanitizer settings of `make sanitize`.
        for name in ["ASAN_OPTIONS", "LSAN_OPTIONS", "TSAN_OPTIONS", "UBSAN_OPTIONS"] {
            if let value = ProcessInfo.processInfo.environment[name] { env[name] = env[name] ?? value }
        }
        if listenFD != nil {
            env["LISTEN_FDS"] = "1"
            argv = ["/bin/sh", "-c", #"LISTEN_PID=$$; export LISTEN_PID; exec "$0" "$@""#, binary] + arguments
        } else {
            argv = [binary] + arguments
        }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, logPath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 2, 1)
        var passed: Int32 = -1
        if let listenFD {
            // A copy above 3, so dup2 onto 3 always makes a fresh (inheritable) descriptor.
            passed = fcntl(listenFD, F_DUPFD_CLOEXEC, 10)
            guard passed >= 0 else { throw TestError("fcntl(F_DUPFD_CLOEXEC) failed: errno \(errno)") }
            posix_spawn_file_actions_adddup2(&actions, passed, 3)
        }
        defer { if passed >= 0 { close(passed) } }
        Self.addCloseFrom(&actions, listenFD == nil ? 3 : 4)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGHUP, SIGINT, SIGTERM, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in cArgs { free(p) }
            for p in cEnv { free(p) }
        }
        var child: pid_t = 0
        let rc = posix_spawn(&child, argv[0], &actions, &attributes, cArgs, cEnv)
        guard rc == 0 else { throw TestError("posix_spawn \(argv[0]) failed: \(String(cString: strerror(rc)))") }
        pid = child
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
    }

    /// Everything the daemon wrote to stdout and stderr so far.
    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func signal(_ signal: Int32) { kill(pid, signal) }

    /// Waits until the log contains `text`.
    func waitForLog(_ text: String, timeout: Double = 10) -> Bool {
        poll(timeout: timeout) { log.contains(text) }
    }

    /// The exit code once the daemon exits within `timeout` (a death by signal N is `128 + N`);
    /// nil when it is still running.
    func waitForExit(timeout: Double = 10) -> Int32? {
        if let exitStatus { return exitStatus }
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                let signal = status & 0x7f
                exitStatus = signal == 0 ? (status >> 8) & 0xff : 128 + signal
                return exitStatus
            }
            usleep(10_000)
        } while Date() < deadline
        return nil
    }

    /// `TOLLGATE_BIN`, else `tollgate` in the build directory that holds this test bundle.
    static func binaryPath() throws -> String {
        if let path = ProcessInfo.processInfo.environment["TOLLGATE_BIN"], !path.isEmpty { return path }
        var directories: [URL] = [Bundle.main.bundleURL, Bundle.main.bundleURL.deletingLastPathComponent()]
        if let executable = Bundle.main.executableURL { directories.append(executable.deletingLastPathComponent()) }
        directories.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent())
        // …/Tests/TollgateServiceTests/DaemonProcess.swift → the package's .build/debug.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        directories.append(root.appendingPathComponent(".build/debug"))
        for directory in directories {
            let candidate = directory.appendingPathComponent("tollgate").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        throw TestError("the tollgate binary was not found in \(directories.map(\.path)); run `swift build --build-tests` first or set TOLLGATE_BIN")
    }

    /// posix_spawn_file_actions_addclosefrom_np (glibc 2.34) is hidden behind _GNU_SOURCE; look
    /// it up so that no descriptor of the test process leaks into the daemon.
    private static func addCloseFrom(_ actions: inout posix_spawn_file_actions_t, _ from: Int32) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
            return
        }
        _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, from)
    }
}

/// Polls `condition` every 10 ms until it holds or `timeout` seconds pass.
func poll(timeout: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if condition() { return true }
        usleep(10_000)
    }
    return condition()
}
