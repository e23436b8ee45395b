/// One config key a provider type reads besides the keys every provider has (`type`, `base_url`,
/// `models`, ...) and its credentials: Bedrock's `region`, Azure's `endpoint`.
public struct ProviderField: Sendable, Equatable {
    public var name: String
    /// The provider cannot be resolved without it.
    public var required: Bool
    /// One line for `tollgate providers` and config errors.
    public var summary: String

    public init(_ name: String, required: Bool = true, summary: String = "") {
        self.name = name
        self.required = required
        self.summary = summary
    }
}
