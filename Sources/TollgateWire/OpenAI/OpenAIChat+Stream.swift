#if canImport(Glibc)
import Glibc
#endif
import TollgateCore

/// Chat Completions chunks pass through; usage is read from them and `[DONE]` ends the answer.
extension OpenAIChat {
    public func makeStreamDecoder(context: ChatContext) -> any ChatStreamDecoder {
        StreamDecoder(forwardUsageChunk: context.clientWantsUsage)
    }

    /// Forwards every chunk, except a usage-only chunk the client did not ask for.
    struct StreamDecoder: SSEStreamDecoding {
        var parser = SSEParser()
        var ended = false
        let forwardUsageChunk: Bool

        init(forwardUsageChunk: Bool) { self.forwardUsageChunk = forwardUsageChunk }

        /// `[DONE]` and an error end the stream: later events are not decoded.
        mutating func decode(_ event: SSEEvent) -> [StreamOutput] {
            var data = event.data
            if data == "[DONE]" {
                ended = true
                return [.done]
            }
            // A scan checks the chunk and finds its members; only `usage` (and an error) is parsed.
            let outputs = data.withUTF8 { utf8 -> [StreamOutput] in
                let raw = UnsafeRawBufferPointer(utf8)
                guard let scan = try? JSONScan.scan(raw), scan.isObject else { return [] }
                if let error = scan.range(of: "error", in: raw), raw[error.lowerBound] != UInt8(ascii: "n") {
                    let json = try? JSONValue.parse(raw)
                    return [.error(OpenAIChat.error(from: json, status: 502, headers: HTTPHeaders()))]
                }
                var outputs: [StreamOutput] = []
                let usageRange = scan.range(of: "usage", in: raw)
                if let usageRange, let usage = Usage(openAIBytes: UnsafeRawBufferPointer(rebasing: raw[usageRange])) {
                    outputs.append(.usage(usage))
                }
                let choices = scan.range(of: "choices", in: raw)
                let noChoices = choices.map { range in
                    let inner = raw[range].filter { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
                    return inner.count == 2 || raw[range.lowerBound] == UInt8(ascii: "n")
                } ?? true
                let isUsageOnly = noChoices && usageRange != nil && raw[usageRange!.lowerBound] != UInt8(ascii: "n")
                if !isUsageOnly || forwardUsageChunk { outputs.append(.chunk(event.data)) }
                return outputs
            }
            if case .error? = outputs.first { ended = true }
            return outputs
        }
    }
}

extension OpenAIChat {
    /// A Chat Completions stream for a Chat Completions client, relayed as the upstream's own
    /// event bytes (`SSEEventRelay`): nothing parsed but `usage` and an error, nothing re-encoded.
    /// `[DONE]` ends it unsent (the client's adapter writes its own end after the ledger commit);
    /// a usage-only chunk the client did not ask for is skipped.
    public static func makeRelay(forwardUsageChunk: Bool) -> any ChatStreamDecoder {
        SSEEventRelay(reader: RelayReader(forwardUsageChunk: forwardUsageChunk))
    }

    struct RelayReader: SSEEventReader {
        let forwardUsageChunk: Bool

        /// First and last non-blank bytes are `{` and `}`.
        static func isObjectShaped(_ raw: UnsafeRawBufferPointer) -> Bool {
            var start = 0, end = raw.count
            while start < end, raw[start] == 0x20 || raw[start] == 0x0A || raw[start] == 0x0D || raw[start] == 0x09 { start += 1 }
            while end > start, raw[end - 1] == 0x20 || raw[end - 1] == 0x0A || raw[end - 1] == 0x0D || raw[end - 1] == 0x09 { end -= 1 }
            return end - start >= 2 && raw[start] == UInt8(ascii: "{") && raw[end - 1] == UInt8(ascii: "}")
        }

        static func contains(_ raw: UnsafeRawBufferPointer, _ needle: StaticString) -> Bool {
            let n = needle.utf8CodeUnitCount
            guard raw.count >= n, let base = raw.baseAddress else { return false }
            let first = needle.utf8Start.pointee
            var i = 0
            while i <= raw.count - n {
                // memchr finds candidates for the first byte; memcmp checks the rest.
                guard let hit = memchr(base + i, Int32(first), raw.count - n + 1 - i) else { return false }
                let at = base.distance(to: UnsafeRawPointer(hit))
                if memcmp(base + at, needle.utf8Start, n) == 0 { return true }
                i = at + 1
            }
            return false
        }

        mutating func read(_ event: SSEEvent) -> SSEEventReading {
            var data = event.data
            if data == "[DONE]" { return SSEEventReading(.endUnsent) }
            return data.withUTF8 { utf8 -> SSEEventReading in
                let raw = UnsafeRawBufferPointer(utf8)
                // Most chunks are deltas: neither `"usage"` nor `"error"` occurs in their bytes (inside
                // a JSON string every quote is escaped, so these can only be a key or a whole string
                // value). They are relayed after a check that they are an object, without the scan.
                if Self.isObjectShaped(raw), !Self.contains(raw, "\"usage\""), !Self.contains(raw, "\"error\"") {
                    return SSEEventReading(.relay, textBytes: TokenEstimator.outputBytes(rawChunk: raw))
                }
                guard let scan = try? JSONScan.scan(raw), scan.isObject else { return SSEEventReading(.skip) }
                if let error = scan.range(of: "error", in: raw), raw[error.lowerBound] != UInt8(ascii: "n") {
                    return SSEEventReading(.fail(OpenAIChat.error(from: try? JSONValue.parse(raw), status: 502, headers: HTTPHeaders())))
                }
                var outputs: [StreamOutput] = []
                let usageRange = scan.range(of: "usage", in: raw)
                if let usageRange, let usage = Usage(openAIBytes: UnsafeRawBufferPointer(rebasing: raw[usageRange])) {
                    outputs.append(.usage(usage))
                }
                let noChoices = scan.range(of: "choices", in: raw).map { range in
                    let inner = raw[range].filter { $0 != 0x20 && $0 != 0x0A && $0 != 0x0D && $0 != 0x09 }
                    return inner.count == 2 || raw[range.lowerBound] == UInt8(ascii: "n")
                } ?? true
                let isUsageOnly = noChoices && usageRange != nil && raw[usageRange!.lowerBound] != UInt8(ascii: "n")
                if isUsageOnly && !forwardUsageChunk { return SSEEventReading(.skip, outputs: outputs) }
                return SSEEventReading(.relay, outputs: outputs, textBytes: TokenEstimator.outputBytes(rawChunk: raw))
            }
        }
    }
}
