import Foundation
import Testing
import TollgateCore

/// Secrets at rest: `credential:NAME` (systemd's credentials directory, or a `NAME.cred` sealed
/// with `systemd-creds`), private `file:` secrets, and errors that never contain a secret.
@Suite struct SecretSourcesTests {
    static let secret = "sk-at-rest-0123456789abcdef"

    /// A fresh private folder, removed by the caller.
    static func folder() throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tollgate-creds-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func write(_ text: String, to path: String, mode: mode_t) throws {
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, mode)
    }

    @Test(arguments: [("credential:openai", SecretReference.credential("openai")), ("credential:", .credential(""))])
    func credentialReferencesParse(text: String, expected: SecretReference) {
        #expect(SecretReference(text) == expected)
        #expect(SecretReference("credential:openai").redacted == "credential openai")
    }

    @Test func aCredentialIsReadFromTheCredentialsDirectory() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Self.write(Self.secret + "\n", to: "\(dir)/openai", mode: 0o400)
        let value = SecretReference.credential("openai").resolve(environment: ["CREDENTIALS_DIRECTORY": dir],
                                                                 credentialsDir: "/nonexistent")
        #expect(value.success == Self.secret)
    }

    @Test func aMissingCredentialSaysWhereItLooked() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let problem = SecretReference.credential("anthropic")
            .resolve(environment: ["CREDENTIALS_DIRECTORY": dir], credentialsDir: "\(dir)/sealed").failure?.problem ?? ""
        #expect(problem.hasPrefix("credential anthropic: no \(dir)/anthropic, no \(dir)/sealed/anthropic.cred"))
        #expect(problem.contains("systemd-creds encrypt --name=anthropic"))
        let bad = SecretReference.credential("../x").resolve(environment: [:]).failure?.problem ?? ""
        #expect(bad.contains("without '/'"))
    }

    @Test func theDefaultFolderDependsOnTheUser() {
        let dir = SecretReference.defaultCredentialsDir(environment: ["HOME": "/home/ann"])
        #expect(dir == (geteuid() == 0 ? "/etc/tollgate/credentials" : "/home/ann/.config/tollgate/credentials"))
        #expect(SecretReference.defaultCredentialsDir(environment: ["TOLLGATE_CREDENTIALS_DIR": "/srv/c"]) == "/srv/c")
    }

    @Test func aSecretFileOthersCanReadIsRefused() throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = "\(dir)/key"
        try Self.write(Self.secret, to: path, mode: 0o644)
        let problem = SecretReference.file(path).resolve(environment: [:]).failure?.problem ?? ""
        #expect(problem == "file \(path) can be read by its group or others (mode 644); run chmod 600 \(path) (a secret file must be private to its owner)")
        chmod(path, 0o640)
        #expect(SecretReference.file(path).resolve(environment: [:]).failure?.problem.contains("mode 640") == true)
        chmod(path, 0o600)
        #expect(SecretReference.file(path).resolve(environment: [:]).success == Self.secret)
    }

    @Test func theConfigNamesTheCredentialsFolder() throws {
        let config = try Config.parse(Array(#"{"credentials_dir": "/srv/creds", "providers": {}}"#.utf8))
        #expect(config.credentialsDir == "/srv/creds")
        #expect(config.unknownKeys.isEmpty)
        #expect(throws: ConfigError.self) { try Config.parse(Array(#"{"credentials_dir": "rel"}"#.utf8)) }
        let bad = #"{"providers": {"a": {"type": "openai", "api_key": "credential:a/b"}}}"#
        #expect(throws: ConfigError.self) { try Config.parse(Array(bad.utf8)) }
    }

    /// Why `systemd-creds` cannot seal with the host key here, or nil when it can.
    static func sealingUnavailable() -> String? {
        guard let tool = Subprocess.find("systemd-creds", path: ProcessInfo.processInfo.environment["PATH"]) else {
            return "systemd-creds is not installed"
        }
        guard geteuid() == 0 else { return "\(tool) needs root to use the host key (/var/lib/systemd/credential.secret)" }
        return nil
    }

    /// Seals `text` as `dir/NAME.cred` with the host key (no TPM needed). systemd-creds creates the
    /// host key (/var/lib/systemd/credential.secret) when it is missing, as `systemd-creds setup` would.
    static func seal(_ text: String, name: String, embeddedName: String? = nil, in dir: String) throws -> String {
        let plain = "\(dir)/\(name).plain"
        try write(text, to: plain, mode: 0o600)
        defer { unlink(plain) }
        let sealed = "\(dir)/\(name).cred"
        let out = try Subprocess.run(["systemd-creds", "encrypt", "--with-key=host", "--name=\(embeddedName ?? name)", plain, sealed],
                                     environment: ProcessInfo.processInfo.environment).get()
        try #require(out.status == 0, "systemd-creds encrypt: \(String(decoding: out.stderr, as: UTF8.self))")
        return sealed
    }

    @Test func aSealedCredentialIsDecryptedWithSystemdCreds() throws {
        if let why = Self.sealingUnavailable() {
            print("skipped: systemd-creds round trip: \(why)")
            return
        }
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let sealed = try Self.seal(Self.secret + "\n", name: "openai", in: dir)
        let bytes = try #require(readWholeFile(sealed))
        #expect(!String(decoding: bytes, as: UTF8.self).contains(Self.secret))
        var environment = ProcessInfo.processInfo.environment
        environment["CREDENTIALS_DIRECTORY"] = nil
        #expect(SecretReference.credential("openai").resolve(environment: environment, credentialsDir: dir).success == Self.secret)
        // CREDENTIALS_DIRECTORY without the file: the sealed one is used.
        environment["CREDENTIALS_DIRECTORY"] = dir + "/none"
        #expect(SecretReference.credential("openai").resolve(environment: environment, credentialsDir: dir).success == Self.secret)
    }

    @Test func aCredentialThatDoesNotDecryptSaysWhyWithoutTheSecret() throws {
        if let why = Self.sealingUnavailable() {
            print("skipped: systemd-creds failure: \(why)")
            return
        }
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // Sealed for another name: systemd-creds refuses it, as LoadCredentialEncrypted= would.
        _ = try Self.seal(Self.secret, name: "gemini", embeddedName: "other", in: dir)
        let environment = ProcessInfo.processInfo.environment.filter { $0.key != "CREDENTIALS_DIRECTORY" }
        let problem = SecretReference.credential("gemini").resolve(environment: environment, credentialsDir: dir).failure?.problem ?? ""
        #expect(problem.hasPrefix("credential gemini: systemd-creds decrypt \(dir)/gemini.cred failed (exit status 1)"), "\(problem)")
        #expect(problem.contains("does not match"), "\(problem)")
        #expect(!problem.contains(Self.secret))
    }

    @Test func subprocessOutputAndStatusAreCaptured() throws {
        let out = try Subprocess.run(["sh", "-c", "printf out; printf err >&2; exit 3"], environment: ["PATH": "/usr/bin:/bin"]).get()
        #expect(out.status == 3)
        #expect(String(decoding: out.stdout, as: UTF8.self) == "out")
        #expect(String(decoding: out.stderr, as: UTF8.self) == "err")
        let slow = try Subprocess.run(["sleep", "5"], environment: ["PATH": "/usr/bin:/bin"], timeoutSeconds: 0.3).get()
        #expect(slow.timedOut)
        guard case .failure(.notFound) = Subprocess.run(["no-such-tool-xyz"], environment: ["PATH": "/usr/bin"]) else {
            Issue.record("expected notFound")
            return
        }
    }
}
