import TollgateCore

/// How long a provider asks to wait, from the forms providers use to say it.
enum RetryAfter {
    /// `retry-after-ms` (OpenAI) or `retry-after` in seconds; nil when neither is a finite number
    /// (`Double("inf")` parses).
    static func seconds(_ headers: HTTPHeaders) -> Double? {
        if let ms = headers["retry-after-ms"].flatMap(Double.init), ms.isFinite, ms >= 0 { return ms / 1000 }
        if let s = headers["retry-after"].flatMap(Double.init), s.isFinite, s >= 0 { return s }
        return nil
    }

    /// A protobuf Duration in JSON (`"37s"`, `"1.5s"`, Google's `RetryInfo.retryDelay`) in seconds.
    static func seconds(duration: String) -> Double? {
        guard duration.hasSuffix("s"), let value = Double(duration.dropLast()), value.isFinite, value >= 0 else {
            return nil
        }
        return value
    }
}
