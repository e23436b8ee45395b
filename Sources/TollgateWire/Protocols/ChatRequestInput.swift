import TollgateCore

/// A client's chat request: the parsed JSON and the bytes it came from.
public struct ChatRequestInput: Sendable {
    public var json: JSONValue
    public var rawBody: [UInt8]
    public var model: String
    public var stream: Bool

    public init(json: JSONValue, rawBody: [UInt8], model: String, stream: Bool) {
        self.json = json
        self.rawBody = rawBody
        self.model = model
        self.stream = stream
    }
}
