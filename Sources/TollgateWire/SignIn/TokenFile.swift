#if canImport(Glibc)
import Glibc
#endif
import TollgateCore

/// A JSON credentials file another program owns (Claude Code's `.credentials.json`, Codex's
/// `auth.json`): read with an error that names the path, and written back atomically (a
/// temporary file in the same folder, fsync, rename) with the original's mode, every field
/// tollgate does not touch kept as it was. Blocking: used only off the event loops.
public enum TokenFile {
    /// `~/` and `$VAR/` at the start of `path` expanded from the environment.
    public static func expand(_ path: String, environment: (String) -> String? = getenvString) -> String {
        if path == "~" || path.hasPrefix("~/") {
            return (environment("HOME") ?? "") + path.dropFirst()
        }
        return path
    }

    /// The file's JSON object.
    public static func read(_ path: String) -> Result<JSONValue, UpstreamFailure> {
        guard let bytes = readWholeFile(path) else {
            let why = String(cString: strerror(errno))
            return .failure(.signIn("Cannot read the sign-in file \(path): \(why)."))
        }
        guard let json = try? JSONValue.parse(bytes), json.objectValue != nil else {
            return .failure(.signIn("The sign-in file \(path) is not a JSON object."))
        }
        return .success(json)
    }

    /// Applies `change` to the file as it is now (re-read: its owner may have written it since
    /// `fallback` was read) and writes it back atomically.
    public static func update(_ path: String, fallback: JSONValue, _ change: (inout JSONValue) -> Void)
        -> Result<Void, UpstreamFailure>
    {
        var document = (try? read(path).get()) ?? fallback
        change(&document)
        return write(document, to: path)
    }

    /// Replaces the file with `json` atomically; the error says what failed.
    public static func write(_ json: JSONValue, to path: String) -> Result<Void, UpstreamFailure> {
        var mode: mode_t = 0o600
        var st = stat()
        if stat(path, &st) == 0 { mode = st.st_mode & 0o7777 }
        let temp = path + ".tollgate-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            return .failure(.signIn("Cannot write \(temp): \(String(cString: strerror(errno)))."))
        }
        _ = fchmod(fd, mode)
        var bytes = json.serialized()
        bytes.append(UInt8(ascii: "\n"))
        var written = 0
        var failed = false
        bytes.withUnsafeBytes { raw in
            while written < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    failed = true
                    return
                }
                written += n
            }
        }
        let synced = fsync(fd) == 0
        close(fd)
        guard !failed, synced, rename(temp, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(temp)
            return .failure(.signIn("Cannot replace \(path): \(why)."))
        }
        return .success(())
    }
}

public func getenvString(_ name: String) -> String? {
    getenv(name).map { String(cString: $0) }
}

/// The claims of a JWT (its middle part, base64url JSON); nil when it is not one.
public enum JWT {
    public static func claims(_ token: String) -> JSONValue? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let bytes = base64URLDecode(parts[1]) else { return nil }
        return try? JSONValue.parse(bytes)
    }

    /// Wall-clock seconds of the `exp` claim.
    public static func expiry(_ token: String) -> Double? { claims(token)?["exp"]?.doubleValue }

    static func base64URLDecode(_ text: Substring) -> [UInt8]? {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for byte in text.utf8 {
            let value: UInt8
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = byte - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = byte - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0") + 52
            case UInt8(ascii: "-"), UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "_"), UInt8(ascii: "/"): value = 63
            case UInt8(ascii: "="): continue
            default: return nil
            }
            buffer = buffer << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((buffer >> UInt32(bits)) & 0xFF))
            }
        }
        return out
    }
}

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for a Unix time (the form Codex writes in `last_refresh`).
public func rfc3339(_ seconds: Double) -> String {
    let c = utcComponents(seconds)
    let secondOfDay = Int(seconds.rounded(.down)) % 86400
    let ms = Int((seconds - seconds.rounded(.down)) * 1000)
    func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
    let millis = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
    return "\(c.year)-\(two(c.month))-\(two(c.day))T\(two(secondOfDay / 3600)):\(two(secondOfDay % 3600 / 60)):\(two(secondOfDay % 60)).\(millis)Z"
}

/// The Unix time of an RFC 3339 UTC timestamp (`2026-11-20T10:00:00.123456Z`, or with `+00:00`); nil otherwise.
public func parseRFC3339(_ text: String) -> Double? {
    let b = Array(text.utf8)
    guard b.count >= 19 else { return nil }
    func num(_ r: Range<Int>) -> Int? { Int(String(decoding: b[r], as: UTF8.self)) }
    guard let y = num(0..<4), let mo = num(5..<7), let d = num(8..<10), let h = num(11..<13), let mi = num(14..<16),
          let s = num(17..<19), (1...12).contains(mo) else { return nil }
    // Days since 1970 of the civil date (H. Hinnant's days-from-civil).
    let yy = mo <= 2 ? y - 1 : y
    let era = (yy >= 0 ? yy : yy - 399) / 400
    let yoe = yy - era * 400
    let doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    let days = era * 146_097 + doe - 719_468
    return Double(days * 86400 + h * 3600 + mi * 60 + s)
}
