/// One config key a provider type reads besides the keys every provider has (`type`, `base_url`,
/// `models`, ...) and its credentials: Bedrock's `region`, Azure's `endpoint`.
public struct ProviderField: Sendable, Equatable {
    public var name: String
    /// The provider cannot be resolved without it.
    public var required: Bool
    /// One line for `tollgate providers` and config errors.
    public var summary: String
    /// The only values accepted, when the field is a choice.
    public var allowed: [String]?

    public init(_ name: String, required: Bool = true, summary: String = "", allowed: [String]? = nil) {
        self.name = name
        self.required = required
        self.summary = summary
        self.allowed = allowed
    }
}
