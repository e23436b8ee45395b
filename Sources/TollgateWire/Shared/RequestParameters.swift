import TollgateCore

// Reading the client's OpenAI parameters, for the encoders that rebuild the request.

/// `value` unless it is absent or JSON null (clients send `"stop": null` and the like).
func nonNull(_ value: JSONValue?) -> JSONValue? {
    guard let value, !value.isNull else { return nil }
    return value
}

/// The number a parameter holds, nil when absent or null; 400 naming it when it is not a number.
func numberParameter(_ value: JSONValue?, param: String) throws(GatewayError) -> Double? {
    guard let value = nonNull(value) else { return nil }
    guard let n = value.doubleValue else { throw .invalidRequest("\(param) must be a number.", param: param) }
    return n
}

/// The string a parameter holds, nil when absent or null; 400 naming it when it is not a string.
func stringParameter(_ value: JSONValue?, param: String) throws(GatewayError) -> String? {
    guard let value = nonNull(value) else { return nil }
    guard let text = value.stringValue else { throw .invalidRequest("\(param) must be a string.", param: param) }
    return text
}
