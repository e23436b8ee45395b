/// Writes the Prometheus text exposition format (version 0.0.4): `# HELP` and `# TYPE` once per
/// family, then one `name{label="value"} number` line per series.
struct PrometheusText {
    private(set) var text = ""

    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    mutating func family(_ name: String, _ type: String, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        text += name
        text += Self.labels(labels)
        text += " "
        text += Self.number(value)
        text += "\n"
    }

    mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: UInt64) {
        text += "\(name)\(Self.labels(labels)) \(value)\n"
    }

    /// `_bucket` lines (cumulative, `le` last), then `_sum` and `_count`.
    mutating func histogram(_ name: String, _ labels: [(String, String)], _ h: Histogram) {
        let cumulative = h.cumulative
        for (i, bound) in h.bounds.enumerated() {
            sample("\(name)_bucket", labels + [("le", Self.number(bound))], cumulative[i])
        }
        sample("\(name)_bucket", labels + [("le", "+Inf")], cumulative[cumulative.count - 1])
        sample("\(name)_sum", labels, h.sum)
        sample("\(name)_count", labels, h.count)
    }

    static func labels(_ labels: [(String, String)]) -> String {
        guard !labels.isEmpty else { return "" }
        return "{" + labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
    }

    /// A label value with `\`, `"` and newlines escaped.
    static func escape(_ value: String) -> String {
        guard value.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return value }
        var out = ""
        for c in value {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    static func number(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return "\(value)"
    }
}
