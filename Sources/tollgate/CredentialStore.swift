#if canImport(Glibc)
import Glibc
#endif
import TollgateCore

/// Keeps a secret the wizard was given: encrypted with `systemd-creds encrypt` into the
/// credentials folder, so the config names it as `credential:NAME`.
enum CredentialStore {
    /// The folder `credential:NAME` falls back to outside systemd (`NAME.cred` there).
    static var directory: String {
        if let set = getenv("TOLLGATE_CREDENTIALS_DIR"), set.pointee != 0 { return String(cString: set) }
        if getuid() == 0 { return "/etc/tollgate/credentials" }
        let home = getenv("HOME").map { String(cString: $0) } ?? "."
        return home + "/.config/tollgate/credentials"
    }

    /// Encrypts `secret` as credential `name` into `directory`; the reference, or why it could not.
    static func store(name: String, secret: String, directory: String = directory) -> Result<String, StoreError> {
        guard let tool = Executable.find("systemd-creds") else { return .failure(StoreError("systemd-creds is not installed")) }
        guard makeDirectory(directory) else { return .failure(StoreError("cannot create \(directory)")) }
        var args = [tool, "encrypt", "--name=\(name)"]
        if getuid() != 0 { args.append("--user") }
        args += ["-", "\(directory)/\(name).cred"]
        let run = Executable.run(args, input: Array(secret.utf8))
        guard run.status == 0 else {
            let why = String(decoding: run.error, as: UTF8.self).trimmingWhitespace()
            return .failure(StoreError("systemd-creds encrypt failed: \(why.isEmpty ? "exit \(run.status)" : why)"))
        }
        chmod("\(directory)/\(name).cred", 0o600)
        return .success("credential:\(name)")
    }

    static func makeDirectory(_ path: String) -> Bool {
        var current = ""
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o700) != 0, errno != EEXIST { return false }
        }
        return true
    }

    struct StoreError: Error, CustomStringConvertible {
        var description: String
        init(_ text: String) { description = text }
    }
}

/// Runs another program without a shell (posix_spawn), its input given and its output taken.
enum Executable {
    static func find(_ name: String) -> String? {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") + ["/usr/bin", "/bin"] {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    struct Outcome {
        var status: Int32
        var output: [UInt8]
        var error: [UInt8]
    }

    static func run(_ args: [String], input: [UInt8] = []) -> Outcome {
        var inPipe: [Int32] = [0, 0], outPipe: [Int32] = [0, 0], errPipe: [Int32] = [0, 0]
        guard pipe(&inPipe) == 0, pipe(&outPipe) == 0, pipe(&errPipe) == 0 else { return Outcome(status: -1, output: [], error: []) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        for fd in inPipe + outPipe + errPipe { posix_spawn_file_actions_addclose(&actions, fd) }
        var argv: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, args[0], &actions, nil, &argv, environ)
        close(inPipe[0])
        close(outPipe[1])
        close(errPipe[1])
        guard rc == 0 else {
            close(inPipe[1]); close(outPipe[0]); close(errPipe[0])
            return Outcome(status: -1, output: [], error: Array("cannot run \(args[0])".utf8))
        }
        var offset = 0
        while offset < input.count {
            let n = input[offset...].withUnsafeBytes { write(inPipe[1], $0.baseAddress, $0.count) }
            if n <= 0 { break }
            offset += n
        }
        close(inPipe[1])
        let output = drain(outPipe[0])
        let error = drain(errPipe[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        let exited = (status & 0x7f) == 0
        return Outcome(status: exited ? (status >> 8) & 0xff : -1, output: output, error: error)
    }

    private static func drain(_ fd: Int32) -> [UInt8] {
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return out
    }
}
