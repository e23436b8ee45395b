#if canImport(Glibc)
import Glibc
#endif

/// Runs a program with `posix_spawn` and collects what it writes (no Foundation, no shell).
/// Used at start and on reload only (to decrypt credentials), never on a request's path.
public enum Subprocess {
    public struct Output: Sendable {
        /// The exit status, or 128 + the signal that ended it.
        public var status: Int32
        public var stdout: [UInt8]
        public var stderr: [UInt8]
        public var timedOut = false
    }

    public enum Failure: Error, Sendable, CustomStringConvertible {
        case notFound(String)
        case spawn(String, Int32)
        case pipe(Int32)
        public var description: String {
            switch self {
            case .notFound(let name): "\(name) was not found in PATH"
            case .spawn(let name, let code): "cannot start \(name): \(String(cString: strerror(code)))"
            case .pipe(let code): "cannot create a pipe: \(String(cString: strerror(code)))"
            }
        }
    }

    /// The first executable `name` in `path` (a `:`-separated list); a name with a slash as it is.
    public static func find(_ name: String, path: String?) -> String? {
        if name.contains("/") { return access(name, X_OK) == 0 ? name : nil }
        for dir in (path ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") where !dir.isEmpty {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Runs `arguments[0]` (looked up in `environment["PATH"]`) with `environment`, stdin from
    /// /dev/null (or a pipe carrying `input`, for a secret that must not touch the disk), and
    /// returns its exit status and output. Killed after `timeoutSeconds`.
    public static func run(_ arguments: [String], environment: [String: String], input: [UInt8]? = nil,
                           timeoutSeconds: Double = 30) -> Result<Output, Failure> {
        guard let program = arguments.first, let executable = find(program, path: environment["PATH"]) else {
            return .failure(.notFound(arguments.first ?? ""))
        }
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        guard pipe(&outPipe) == 0 else { return .failure(.pipe(errno)) }
        guard pipe(&errPipe) == 0 else {
            let code = errno
            close(outPipe[0]); close(outPipe[1])
            return .failure(.pipe(code))
        }
        var inPipe: [Int32] = [-1, -1]
        if input != nil, pipe(&inPipe) != 0 {
            let code = errno
            for fd in outPipe + errPipe { close(fd) }
            return .failure(.pipe(code))
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if input != nil {
            posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
            posix_spawn_file_actions_addclose(&actions, inPipe[0])
            posix_spawn_file_actions_addclose(&actions, inPipe[1])
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        for fd in outPipe + errPipe { posix_spawn_file_actions_addclose(&actions, fd) }

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        close(outPipe[1])
        close(errPipe[1])
        if input != nil { close(inPipe[0]) }
        guard spawned == 0 else {
            close(outPipe[0]); close(errPipe[0])
            if input != nil { close(inPipe[1]) }
            return .failure(.spawn(program, spawned))
        }
        if let input {
            // Small inputs (a key) fit the pipe's buffer; the write end closes so the child sees the end.
            var offset = 0
            while offset < input.count {
                let n = input[offset...].withUnsafeBytes { write(inPipe[1], $0.baseAddress, $0.count) }
                if n <= 0 { break }
                offset += n
            }
            close(inPipe[1])
        }

        var output = Output(status: -1, stdout: [], stderr: [])
        var open = [outPipe[0], errPipe[0]]
        let deadline = monotonicSeconds() + timeoutSeconds
        var buffer = [UInt8](repeating: 0, count: 16384)
        while !open.isEmpty {
            let remaining = deadline - monotonicSeconds()
            if remaining <= 0 {
                output.timedOut = true
                kill(pid, SIGKILL)
                break
            }
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let ready = poll(&fds, nfds_t(fds.count), Int32(min(remaining * 1000, 1000)) + 1)
            if ready < 0 && errno != EINTR { break }
            for entry in fds where entry.revents != 0 {
                let n = buffer.withUnsafeMutableBytes { read(entry.fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    if entry.fd == outPipe[0] {
                        output.stdout += buffer[0..<n]
                    } else {
                        output.stderr += buffer[0..<n]
                    }
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    open.removeAll { $0 == entry.fd }
                }
            }
        }
        close(outPipe[0])
        close(errPipe[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros: the same bit arithmetic here.
        let signal = status & 0x7f
        output.status = signal == 0 ? (status >> 8) & 0xff : 128 + signal
        return .success(output)
    }
}
