#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import FoundationEssentials
import TollgateCore
import TollgateUpstream
import TollgateWire

/// `tollgate login copilot`: GitHub's device flow, then the GitHub token stored as a credential
/// the `github_copilot` provider reads (`api_key`): encrypted with `systemd-creds` when it is
/// usable, else a 0600 file. The token is never printed.
struct LoginCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login", abstract: "Sign in to a provider that needs a sign-in of its own.", subcommands: [Copilot.self])

    struct Copilot: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "copilot",
            abstract: "Sign in to GitHub Copilot (GitHub's device flow) and store the GitHub token.",
            discussion: """
                Prints a code and a URL; enter the code there. The GitHub token is stored as NAME.cred \
                (encrypted with systemd-creds) or, when systemd-creds is not usable, as a 0600 file NAME, \
                in the credentials folder; the output says which and what to put in the config. \
                GitHub Copilot's terms govern its use through a gateway.
                """)

        @Option(name: .long, help: "Credential name (the file name in the credentials folder).")
        var name = "github_copilot"

        @Option(name: .long, help: "Credentials folder (default: $TOLLGATE_CREDENTIALS_DIR, else /etc/tollgate/credentials as root, else ~/.config/tollgate/credentials).")
        var credentialsDir: String?

        @Flag(name: .long, help: "Store a 0600 file even when systemd-creds is usable.")
        var plainFile = false

        @Option(name: .long, help: "OAuth client id (default: the one Copilot editor plugins use).")
        var clientID = GitHubDeviceFlow.copilotClientID

        @Option(name: .long, help: "OAuth scope.")
        var scope = "read:user"

        @Option(name: .long, help: "Device code endpoint.")
        var deviceCodeURL = GitHubDeviceFlow.defaultDeviceCodeURL

        @Option(name: .long, help: "Access token endpoint.")
        var accessTokenURL = GitHubDeviceFlow.defaultAccessTokenURL

        func validate() throws {
            guard !name.isEmpty, name.utf8.allSatisfy({ CredentialStore.isNameByte($0) }) else {
                throw ValidationError("--name may hold only letters, digits, '-', '_' and '.'")
            }
        }

        func run() throws {
            var flow = GitHubDeviceFlow(http: CurlTokenClient(), sleep: { seconds in
                var left = seconds
                while left > 0 {
                    let step = min(left, 1)
                    usleep(UInt32(step * 1_000_000))
                    left -= step
                }
            })
            flow.clientID = clientID
            flow.scope = scope
            flow.deviceCodeURL = deviceCodeURL
            flow.accessTokenURL = accessTokenURL
            let result = flow.run { prompt in
                print("Open \(prompt.verificationURI) and enter the code \(prompt.userCode) (valid for \(Int(prompt.expiresIn / 60)) minutes).")
                print("Waiting for GitHub…")
                fflush(nil)
            }
            let token: String
            switch result {
            case .failure(let failure):
                printError("error: \(failure.message)")
                throw ExitCode.failure
            case .success(let t): token = t
            }
            // Whatever is written from here on (systemd-creds' output file too) is the owner's only.
            umask(0o077)
            let dir = credentialsDir ?? SecretReference.defaultCredentialsDir(environment: ProcessInfo.processInfo.environment)
            switch CredentialStore.storeEncryptedOrFile(token, name: name, in: dir, encrypt: !plainFile) {
            case .failure(let why):
                printError("error: signed in, but the token could not be stored: \(why)")
                throw ExitCode.failure
            case .success(let stored):
                print("Signed in to GitHub.")
                print(stored.summary)
                print("In the config: \"providers\": {\"copilot\": {\"type\": \"github_copilot\", \"api_key\": \"\(stored.reference)\", \"models\": [...]}}")
            }
        }
    }
}
