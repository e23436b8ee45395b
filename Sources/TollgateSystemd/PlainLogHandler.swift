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

    /// The second's part of the timestamp, formatted once per second (per thread).
    private static let cache = ThreadLocalStamp()

    static func timestamp() -> String {
        let ms = wallClockMilliseconds()
        let second = Int(ms / 1000)
        let base = cache.base(forSecond: second)
        let millis = Int(ms.truncatingRemainder(dividingBy: 1000))
        return base + "." + (millis < 10 ? "00" : millis < 100 ? "0" : "") + String(millis) + "Z"
    }
}

/// `YYYY-MM-DDTHH:MM:SS` of the last second asked for, kept per thread.
final class ThreadLocalStamp: Sendable {
    private let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { if let p = $0 { Unmanaged<Box>.fromOpaque(p).release() } }
        return key
    }()

    final class Box {
        var second = -1
        var text = ""
    }

    func base(forSecond second: Int) -> String {
        let box: Box
        if let existing = pthread_getspecific(key) {
            box = Unmanaged<Box>.fromOpaque(existing).takeUnretainedValue()
        } else {
            box = Box()
            pthread_setspecific(key, Unmanaged.passRetained(box).toOpaque())
        }
        if box.second != second {
            var seconds = time_t(second)
            var parts = tm()
            gmtime_r(&seconds, &parts)
            var buffer = [Int8](repeating: 0, count: 32)
            let n = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S", &parts)
            box.text = String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            box.second = second
        }
        return box.text
    }
}
