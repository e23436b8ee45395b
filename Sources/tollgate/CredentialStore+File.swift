#if canImport(Glibc)
import Glibc
#endif
import TollgateCore

/// A secret the CLI obtained by signing in (`tollgate login copilot`): encrypted like the
/// wizard's keys (`CredentialStore.store`, read back as `credential:NAME`) when systemd-creds
/// works here, else a 0600 file in the same folder (read back as `file:PATH`).
extension CredentialStore {
    struct Stored {
        var path: String
        var reference: String
        var encrypted: Bool
        /// Why it was not encrypted, when it was not.
        var why: String?

        var summary: String {
            encrypted ? "Stored encrypted with systemd-creds in \(path)."
                : "Stored in \(path) as a 0600 file, not encrypted (\(why ?? "systemd-creds not used"))."
        }
    }

    static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F || b == 0x2E
    }

    static func storeEncryptedOrFile(_ secret: String, name: String, in dir: String, encrypt: Bool) -> Result<Stored, StoreError> {
        var why = "--plain-file was given"
        if encrypt {
            switch store(name: name, secret: secret, directory: dir) {
            case .success(let reference):
                return .success(Stored(path: "\(dir)/\(name).cred", reference: reference, encrypted: true))
            case .failure(let error):
                unlink("\(dir)/\(name).cred")
                why = error.description
            }
        }
        guard makeDirectory(dir) else { return .failure(StoreError("cannot create \(dir): \(String(cString: strerror(errno)))")) }
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
        return .success(Stored(path: path, reference: "file:" + path, encrypted: false, why: why))
    }
}
