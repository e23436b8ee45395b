#if canImport(Glibc)
import Glibc
#endif
import Logging
import TollgateCore

/// Plain lines on stderr: `2026-11-22T20:01:13.123Z info message key=value`.
/// Used when stderr is not the journal.
public struct PlainLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    /// Metadata keys printed after the message (the rest stays for structured sinks).
    public var printedKeys: Set<String> = ["request_id"]
    private let shared: LogLevelSetting
    private var ownLevel: Logger.Level?

    public init(level: Logger.Level) { self.init(levels: LogLevelSetting(level)) }

    /// Follows `levels` (changed on reload) until this logger's level is set explicitly.
    public init(levels: LogLevelSetting) { shared = levels }

    public var logLevel: Logger.Level {
        get { ownLevel ?? shared.level }
        set { ownLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var text = Self.timestamp() + " " + event.level.rawValue + " " + event.message.description
        for key in printedKeys.sorted() {
            guard let value = event.metadata?[key] ?? metadata[key] else { continue }
            text += " \(key)=\(value)"
        }
        text += "\n"
        var line = text
        line.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = write(2, bytes.baseAddress! + offset, bytes.count - offset)
                if n <= 0 {
                    if n < 0, errno == EINTR { continue }
                    return
                }
                offset += n
            }
        }
    }

    static func timestamp() -> String {
        let ms = wallClockMilliseconds()
        var seconds = time_t(ms / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var buffer = [Int8](repeating: 0, count: 32)
        let n = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S", &parts)
        let base = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let millis = Int(ms.truncatingRemainder(dividingBy: 1000))
        return base + "." + (millis < 10 ? "00" : millis < 100 ? "0" : "") + String(millis) + "Z"
    }
}
