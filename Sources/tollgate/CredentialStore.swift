#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import TollgateCore

/// Keeps a secret the wizard was given: encrypted with `systemd-creds encrypt` into the
/// credentials folder (where `credential:NAME` reads `NAME.cred`), so the config names it as
/// `credential:NAME` and the key is never on disk in the clear.
enum CredentialStore {
    /// Encrypts `secret` as credential `name` into `directory`; the reference, or why it could not.
    static func store(name: String, secret: String, directory: String) -> Result<String, StoreError> {
        guard makeDirectory(directory) else { return .failure(StoreError("cannot create \(directory)")) }
        let environment = ProcessInfo.processInfo.environment
        let file = "\(directory)/\(name).cred"
        // A user's own credentials need --user where systemd has it (not 252): tried first, then without.
        let attempts = geteuid() == 0 ? [["systemd-creds", "encrypt", "--name=\(name)", "-", file]]
            : [["systemd-creds", "encrypt", "--user", "--name=\(name)", "-", file], ["systemd-creds", "encrypt", "--name=\(name)", "-", file]]
        var why = "systemd-creds is not installed"
        for arguments in attempts {
            switch Subprocess.run(arguments, environment: environment, input: Array(secret.utf8)) {
            case .failure(let failure):
                why = failure.description
            case .success(let run) where run.status == 0:
                chmod(file, 0o600)
                return .success("credential:\(name)")
            case .success(let run):
                let text = String(decoding: run.stderr, as: UTF8.self).trimmingWhitespace()
                why = "systemd-creds encrypt failed: \(text.isEmpty ? "exit \(run.status)" : text)"
            }
        }
        return .failure(StoreError(why))
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
