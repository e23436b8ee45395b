#if canImport(Glibc)
import Glibc
#endif
import TollgateCore
import TollgateWire

/// Stores a secret the CLI obtained (a sign-in's token) in a credentials folder: encrypted
/// with `systemd-creds encrypt` (NAME.cred, read back by `credential:NAME`) when that works
/// here, else as a 0600 file (NAME, read back by `file:PATH`).
enum SecretStore {
    struct Stored {
        var path: String
        var encrypted: Bool
        var summary: String { encrypted
            ? "Stored encrypted with systemd-creds in \(path)."
            : "Stored in \(path) (a 0600 file, not encrypted: systemd-creds is not usable here or --plain-file was given)." }
        /// The config value that reads it back.
        var reference: String {
            encrypted ? "credential:" + String(path.split(separator: "/").last!.dropLast(5)) : "file:" + path
        }
    }

    struct StoreError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F || b == 0x2E
    }

    static func defaultDirectory() -> String {
        if geteuid() == 0 { return "/etc/tollgate/credentials" }
        if let config = getenvString("XDG_CONFIG_HOME"), !config.isEmpty { return config + "/tollgate/credentials" }
        return TokenFile.expand("~/.config/tollgate/credentials")
    }

    static func store(_ secret: String, name: String, in dir: String, encrypt: Bool) -> Result<Stored, StoreError> {
        guard makeDirectories(dir) else { return .failure(StoreError("cannot create \(dir): \(String(cString: strerror(errno)))")) }
        if encrypt {
            let path = "\(dir)/\(name).cred"
            if run(["systemd-creds", "encrypt", "--name=\(name)", "-", path], input: Array(secret.utf8)) == 0 {
                _ = chmod(path, 0o600)
                return .success(Stored(path: path, encrypted: true))
            }
            unlink(path)
        }
        let path = "\(dir)/\(name)"
        let temp = path + ".tmp-\(getpid())"
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return .failure(StoreError("cannot write \(temp): \(String(cString: strerror(errno)))")) }
        _ = fchmod(fd, 0o600)
        let bytes = Array((secret + "\n").utf8)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd) == 0
        close(fd)
        guard written == bytes.count, synced, rename(temp, path) == 0 else {
            unlink(temp)
            return .failure(StoreError("cannot write \(path): \(String(cString: strerror(errno)))"))
        }
        return .success(Stored(path: path, encrypted: false))
    }

    /// `mkdir -p` with mode 0700 for the folders it creates.
    static func makeDirectories(_ path: String) -> Bool {
        var prefix = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            prefix += "/" + part
            if mkdir(prefix, 0o700) != 0, errno != EEXIST { return false }
        }
        return true
    }

    /// Runs `argv` (looked up in PATH) with `input` on its stdin and its output discarded; the exit status, or -1.
    static func run(_ argv: [String], input: [UInt8]) -> Int32 {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return -1 }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[0], 0)
        posix_spawn_file_actions_addclose(&actions, fds[1])
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, nil, &cArgs, environ)
        close(fds[0])
        guard rc == 0 else {
            close(fds[1])
            return -1
        }
        _ = input.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        close(fds[1])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0, errno == EINTR {}
        // WIFEXITED / WEXITSTATUS are macros.
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : -1
    }
}
