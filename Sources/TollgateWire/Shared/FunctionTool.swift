import TollgateCore

/// One OpenAI `{"type":"function","function":{...}}` tool, read and checked once for every
/// protocol that translates tools into its own shape.
public struct FunctionTool: Sendable {
    public var name: String
    public var description: String?
    /// The JSON Schema of the arguments; an empty object schema when the client sent none.
    public var parameters: JSONValue
    public var strict: Bool?

    /// Reads a request's `tools`; nil when absent. `api` names the upstream in error messages.
    public static func read(_ value: JSONValue?, api: String) throws(GatewayError) -> [FunctionTool]? {
        guard let value, !value.isNull else { return nil }
        guard let tools = value.arrayValue else { throw .invalidRequest("tools must be an array.", param: "tools") }
        var out: [FunctionTool] = []
        for (i, tool) in tools.enumerated() {
            guard tool["type"]?.stringValue == "function", let function = tool["function"] else {
                throw .invalidRequest("tools[\(i)]: only function tools are supported by \(api).", param: "tools[\(i)].type")
            }
            guard let name = function["name"]?.stringValue, !name.isEmpty else {
                throw .invalidRequest("tools[\(i)].function.name is required.", param: "tools[\(i)].function.name")
            }
            var parameters: JSONValue = ["type": "object", "properties": [:]]
            if let schema = function["parameters"], case .object = schema { parameters = schema }
            out.append(FunctionTool(name: name, description: function["description"]?.stringValue, parameters: parameters,
                                    strict: function["strict"]?.boolValue))
        }
        return out
    }
}
