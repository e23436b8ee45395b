#if canImport(Glibc)
import Glibc
#endif

extension SecretReference {
    /// The secret's value, or why it is missing (never the secret itself). `credentialsDir` is
    /// where `credential:NAME` finds `NAME.cred` outside systemd (nil: `defaultCredentialsDir`).
    public func resolve(environment: [String: String], credentialsDir: String? = nil) -> Result<String, ConfigError> {
        switch self {
        case .literal(let value):
            return .success(value)
        case .env(let name):
            guard let value = environment[name], !value.isEmpty else {
                return .failure(ConfigError(key: "", problem: "environment variable \(name) is not set"))
            }
            return .success(value)
        case .file(let path):
            if let problem = Self.exposedFileProblem(path) { return .failure(ConfigError(key: "", problem: problem)) }
            guard let bytes = readWholeFile(path) else {
                return .failure(ConfigError(key: "", problem: "file \(path) cannot be read"))
            }
            let value = String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
            guard !value.isEmpty else { return .failure(ConfigError(key: "", problem: "file \(path) is empty")) }
            return .success(value)
        case .credential(let name):
            return Self.readCredential(name, environment: environment,
                                       credentialsDir: credentialsDir ?? Self.defaultCredentialsDir(environment: environment))
        }
    }

    /// Where `NAME.cred` files are looked for when `credentials_dir` is not set:
    /// `$TOLLGATE_CREDENTIALS_DIR` (where `tollgate models add` seals keys), else
    /// `/etc/tollgate/credentials` for root, else `$XDG_CONFIG_HOME/tollgate/credentials`
    /// (`~/.config/tollgate/credentials`).
    public static func defaultCredentialsDir(environment: [String: String]) -> String {
        if let dir = environment["TOLLGATE_CREDENTIALS_DIR"], !dir.isEmpty { return dir }
        if geteuid() == 0 { return "/etc/tollgate/credentials" }
        if let config = environment["XDG_CONFIG_HOME"], config.hasPrefix("/") { return "\(config)/tollgate/credentials" }
        return "\(environment["HOME"] ?? "/")/.config/tollgate/credentials".replacing("//", with: "/")
    }

    /// Why `name` cannot name a credential (systemd's rule: a file name), or nil.
    public static func credentialNameProblem(_ name: String) -> String? {
        if name.isEmpty || name == "." || name == ".." || name.contains("/") || name.utf8.count > 255 {
            return "credential:NAME needs a credential name without '/' (got \"\(name)\")"
        }
        return nil
    }

    /// A secret file that its group or others may read is refused: the key would be as exposed as the file.
    static func exposedFileProblem(_ path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }  // the read reports it
        let mode = info.st_mode & 0o777
        guard mode & 0o044 != 0 else { return nil }
        return "file \(path) can be read by its group or others (mode \(String(mode, radix: 8))); "
            + "run chmod 600 \(path) (a secret file must be private to its owner)"
    }

    /// `credential:NAME`: `$CREDENTIALS_DIRECTORY/NAME` (what systemd fills from `LoadCredential=`
    /// and `LoadCredentialEncrypted=`), else `credentialsDir/NAME.cred` decrypted by `systemd-creds`.
    static func readCredential(_ name: String, environment: [String: String], credentialsDir: String)
        -> Result<String, ConfigError>
    {
        func failure(_ problem: String) -> Result<String, ConfigError> {
            .failure(ConfigError(key: "", problem: "credential \(name): \(problem)"))
        }
        if let problem = credentialNameProblem(name) { return .failure(ConfigError(key: "", problem: problem)) }
        var looked: [String] = []
        if let dir = environment["CREDENTIALS_DIRECTORY"], !dir.isEmpty {
            let path = "\(dir)/\(name)"
            if let bytes = readWholeFile(path) {
                let value = String(decoding: bytes, as: UTF8.self).trimmingWhitespace()
                return value.isEmpty ? failure("\(path) is empty") : .success(value)
            }
            looked.append("no \(path)")
        } else {
            looked.append("CREDENTIALS_DIRECTORY is not set")
        }
        let sealed = "\(credentialsDir)/\(name).cred"
        guard access(sealed, F_OK) == 0 else {
            looked.append("no \(sealed)")
            return failure(looked.joined(separator: ", ") + " (seal one with: systemd-creds encrypt --name=\(name) KEYFILE \(sealed))")
        }
        switch decrypt(sealed, name: name, environment: environment) {
        case .success(let value): return value.isEmpty ? failure("\(sealed) decrypts to nothing") : .success(value)
        case .failure(let why): return failure(why.problem)
        }
    }

    /// `systemd-creds decrypt --name=NAME FILE -`; as a user other than root first with `--user`
    /// (systemd ≥ 256: the per-user key), then without it when this systemd-creds does not know it.
    static func decrypt(_ path: String, name: String, environment: [String: String]) -> Result<String, ConfigError> {
        func failure(_ problem: String) -> Result<String, ConfigError> { .failure(ConfigError(key: "", problem: problem)) }
        var attempts = [["systemd-creds", "decrypt", "--name=\(name)", path, "-"]]
        if geteuid() != 0 { attempts.insert(["systemd-creds", "--user", "decrypt", "--name=\(name)", path, "-"], at: 0) }
        var last = ""
        for (i, arguments) in attempts.enumerated() {
            switch Subprocess.run(arguments, environment: environment, timeoutSeconds: 30) {
            case .failure(let why):
                return failure("cannot decrypt \(path): \(why)")
            case .success(let out) where out.timedOut:
                return failure("systemd-creds decrypt \(path) did not finish within 30 s")
            case .success(let out) where out.status == 0:
                return .success(String(decoding: out.stdout, as: UTF8.self).trimmingWhitespace())
            case .success(let out):
                // systemd-creds reports on stderr; it never prints the plaintext there.
                let message = String(decoding: out.stderr, as: UTF8.self).trimmingWhitespace()
                    .split(separator: "\n").last.map(String.init) ?? ""
                last = "systemd-creds decrypt \(path) failed (exit status \(out.status))"
                    + (message.isEmpty ? "" : ": \(message.prefix(300))")
                let unknownOption = message.contains("unrecognized option") || message.contains("Unknown option")
                if i == 0 && attempts.count == 2 && unknownOption { continue }
                if geteuid() != 0 && message.lowercased().contains("permission denied") {
                    last += " (the host key /var/lib/systemd/credential.secret is readable by root only;"
                        + " run as root, under systemd with LoadCredentialEncrypted=, or with a systemd-creds that has --user)"
                }
                return failure(last)
            }
        }
        return failure(last)
    }
}
