#if canImport(Glibc)
import Glibc
#endif
import CSystemd
#if canImport(Glibc)
import Glibc
#endif
import Logging

/// Writes log entries to the journal through its native protocol (sd_journal_sendv, the
/// array form of sd_journal_send(3)) with structured fields, so that
/// `journalctl -u tollgate TOLLGATE_PROVIDER=openai` finds a provider's requests.
///
/// Fields: `MESSAGE`, `PRIORITY` (syslog numbers), `SYSLOG_IDENTIFIER`, `CODE_FILE`,
/// `CODE_LINE`, `CODE_FUNC`, and one `TOLLGATE_<KEY>` per metadata key (`request_id` →
/// `TOLLGATE_REQUEST_ID`, `provider`, `model`, `status`, `cost_usd` likewise).
/// Used when stderr is connected to the journal (see `stderrIsJournal`). sd_journal_sendv is
/// thread-safe, so any queue may log.
public struct JournalLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public let identifier: String
    private let shared: LogLevelSetting
    private var ownLevel: Logger.Level?

    /// Follows `levels` (changed on reload) until this logger's level is set explicitly.
    public init(levels: LogLevelSetting, identifier: String = "tollgate") {
        shared = levels
        self.identifier = identifier
    }

    public var logLevel: Logger.Level {
        get { ownLevel ?? shared.level }
        set { ownLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata.merging(event.metadata ?? [:]) { $1 }
        if let error = event.error { merged["error"] = "\(error)" }
        let entry = Self.fields(level: event.level, message: event.message.description, metadata: merged,
                                file: event.file, function: event.function, line: event.line,
                                identifier: identifier)
        if Self.send(entry) < 0 {
            // journald is gone (or refused the entry): keep the line on stderr rather than lose it.
            let line = "<\(Self.priority(event.level))>\(event.message.description)\n"
            var text = line
            text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
        }
    }

    /// The fields of one entry, in order.
    public static func fields(level: Logger.Level, message: String, metadata: Logger.Metadata,
                              file: String, function: String, line: UInt,
                              identifier: String = "tollgate") -> [(name: String, value: String)] {
        var out: [(name: String, value: String)] = [
            ("MESSAGE", message),
            ("PRIORITY", String(priority(level))),
            ("SYSLOG_IDENTIFIER", identifier),
            ("CODE_FILE", file),
            ("CODE_LINE", String(line)),
            ("CODE_FUNC", function),
        ]
        for key in metadata.keys.sorted() {
            guard let name = fieldName(forMetadataKey: key), let value = metadata[key] else { continue }
            out.append((name, "\(value)"))
        }
        return out
    }

    /// `request_id` → `TOLLGATE_REQUEST_ID`. Journal field names are upper-case letters,
    /// digits and underscores, at most 64 characters; anything else becomes `_`.
    public static func fieldName(forMetadataKey key: String) -> String? {
        guard !key.isEmpty else { return nil }
        let body = key.uppercased().unicodeScalars.map { scalar -> Character in
            let ok = ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_"
            return ok ? Character(scalar) : "_"
        }
        return String(("TOLLGATE_" + String(body)).prefix(64))
    }

    /// syslog priorities: 2 critical, 3 error, 4 warning, 5 notice, 6 info, 7 debug and trace.
    public static func priority(_ level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// One `NAME=value` iovec per field; values may hold newlines (sd_journal_sendv encodes
    /// them). Returns 0 or a negative errno.
    static func send(_ fields: [(name: String, value: String)]) -> Int32 {
        var buffer: [UInt8] = []
        var spans: [(start: Int, count: Int)] = []
        for (name, value) in fields {
            let start = buffer.count
            buffer.append(contentsOf: name.utf8)
            buffer.append(UInt8(ascii: "="))
            buffer.append(contentsOf: value.utf8)
            spans.append((start, buffer.count - start))
        }
        return buffer.withUnsafeMutableBytes { raw -> Int32 in
            guard let base = raw.baseAddress else { return -EINVAL }
            let vectors = spans.map { iovec(iov_base: base + $0.start, iov_len: $0.count) }
            return vectors.withUnsafeBufferPointer { sd_journal_sendv($0.baseAddress, Int32($0.count)) }
        }
    }

    /// True when fd `fd` (stderr) is the stream `JOURNAL_STREAM` names (`DEVICE:INODE`, set by
    /// systemd when stdout or stderr goes to the journal). Comparing with fstat keeps a child
    /// whose stderr was redirected from logging to the journal by mistake.
    public static func stderrIsJournal(journalStream: String? = getenv("JOURNAL_STREAM").map { String(cString: $0) },
                                       fd: Int32 = 2) -> Bool {
        guard let journalStream else { return false }
        let parts = journalStream.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }
}
