import TollgateCore

/// A complete, non-streamed answer in OpenAI's `chat.completion` format.
public struct ChatResult: Sendable {
    public var body: [UInt8]
    public var usage: Usage?
    public init(body: [UInt8], usage: Usage?) {
        self.body = body
        self.usage = usage
    }
}
