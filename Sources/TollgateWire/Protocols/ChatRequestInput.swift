import Synchronization
import TollgateCore

/// A client's chat request: the bytes it came from, the fields the gateway needs (found by a
/// scan), and the parsed JSON — built only when something asks for it (a translating
/// protocol, a budget estimate), so a request that passes through unchanged is never parsed.
public struct ChatRequestInput: Sendable {
    public var rawBody: [UInt8]
    public var model: String
    public var stream: Bool
    /// Where each top-level member lies in `rawBody` (nil once the JSON was replaced).
    public private(set) var scan: JSONScan?
    private var parsed: LazyJSON

    /// A request whose JSON is already parsed.
    public init(json: JSONValue, rawBody: [UInt8], model: String, stream: Bool) {
        self.rawBody = rawBody
        self.model = model
        self.stream = stream
        scan = nil
        parsed = LazyJSON(json)
    }

    /// A request read by a scan: the JSON is parsed from `rawBody` on first use.
    public init(rawBody: [UInt8], scan: JSONScan, model: String, stream: Bool) {
        self.rawBody = rawBody
        self.model = model
        self.stream = stream
        self.scan = scan
        parsed = LazyJSON(bytes: rawBody)
    }

    /// The whole request as JSON (parsed on first use).
    public var json: JSONValue {
        get { parsed.value }
        set {
            parsed = LazyJSON(newValue)
            scan = nil
        }
    }

    /// One top-level member's value: from its bytes when the request was scanned (a small
    /// parse of that member only), else from the parsed JSON.
    public func member(_ key: String) -> JSONValue? {
        guard let scan else { return json[key] }
        return rawBody.withUnsafeBytes { raw -> JSONValue? in
            guard let range = scan.range(of: key, in: raw) else { return nil }
            return try? JSONValue.parse(UnsafeRawBufferPointer(rebasing: raw[range]))
        }
    }

    /// Whether a top-level member is present (and not null), without parsing it.
    public func hasMember(_ key: String) -> Bool {
        guard let scan else { return json[key].map { !$0.isNull } ?? false }
        return rawBody.withUnsafeBytes { raw in
            guard let range = scan.range(of: key, in: raw) else { return false }
            return raw[range.lowerBound] != UInt8(ascii: "n")
        }
    }

    /// The byte range of a top-level member's value in `rawBody`, when the request was scanned.
    public func memberRange(_ key: String) -> Range<Int>? {
        guard let scan else { return nil }
        return rawBody.withUnsafeBytes { scan.range(of: key, in: $0) }
    }

    /// Whether the raw request contains `needle` (a quoted JSON token such as `"image_url"`).
    public func rawContains(_ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard !n.isEmpty, rawBody.count >= n.count else { return false }
        return rawBody.withUnsafeBytes { raw in
            var i = 0
            while i + n.count <= raw.count {
                if raw[i] == n[0], n.indices.allSatisfy({ raw[i + $0] == n[$0] }) { return true }
                i += 1
            }
            return false
        }
    }
}

/// The parsed JSON of a request, made on first use. A request is touched on one loop only;
/// the lock makes that safe to state to the compiler and costs nothing uncontended.
final class LazyJSON: Sendable {
    private let state: Mutex<(bytes: [UInt8]?, value: JSONValue?)>

    init(_ value: JSONValue) { state = Mutex((nil, value)) }
    init(bytes: [UInt8]) { state = Mutex((bytes, nil)) }

    var value: JSONValue {
        state.withLock { s in
            if let value = s.value { return value }
            let value = s.bytes.flatMap { try? JSONValue.parse($0) } ?? .object(JSONObject())
            s = (nil, value)
            return value
        }
    }
}
