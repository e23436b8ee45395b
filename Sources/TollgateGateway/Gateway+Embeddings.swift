import TollgateCore
import TollgateHTTP
import TollgateWire

extension Gateway {
    /// POST /v1/embeddings: checks the body, plans the candidates that serve embeddings and starts an exchange.
    func startEmbeddings(_ request: HTTPRequest, _ response: any ResponseWriter) {
        let json: JSONValue
        do {
            json = try JSONValue.parse(request.body)
        } catch {
            return respondError(response, .invalidRequest("The request body is not valid JSON: \(error)."))
        }
        guard case .object = json, let model = json["model"]?.stringValue, !model.isEmpty else {
            return respondError(response, .invalidRequest("The \"model\" field is required and must be a string.", param: "model"))
        }
        var inputs: [String] = []
        switch json["input"] {
        case .string(let s)?: inputs = [s]
        case .array(let items)?:
            for item in items {
                guard let s = item.stringValue else {
                    return respondError(response, .invalidRequest("\"input\" must be a string or a list of strings (token arrays are not supported).",
                                                                  param: "input"), model: model)
                }
                inputs.append(s)
            }
        default:
            return respondError(response, .invalidRequest("The \"input\" field is required.", param: "input"), model: model)
        }
        guard !inputs.isEmpty else {
            return respondError(response, .invalidRequest("\"input\" must not be empty.", param: "input"), model: model)
        }
        let format = json["encoding_format"]?.stringValue ?? "float"
        guard format == "float" || format == "base64" else {
            return respondError(response, .invalidRequest("\"encoding_format\" must be \"float\" or \"base64\".",
                                                          param: "encoding_format"), model: model)
        }
        let input = EmbeddingRequestInput(json: json, rawBody: request.body, model: model, inputs: inputs,
                                          encodingFormat: format, dimensions: json["dimensions"]?.intValue)
        let snapshot = self.snapshot
        let pinned = request.headers["x-tollgate-provider"].map { String($0.trimmingWhitespaceASCII()) }
        switch snapshot.plan(model: model, pinned: pinned) {
        case .failure(let error):
            respondError(response, error, model: model)
        case .success(let all):
            let candidates = all.filter { $0.provider.embed != nil }
            guard !candidates.isEmpty else {
                return respondError(response, .invalidRequest("No provider for \"\(model)\" serves embeddings.", param: "model",
                                                              code: "embeddings_not_supported"), model: model)
            }
            Exchange(gateway: self, snapshot: snapshot, writer: response, adapter: EmbeddingAdapter(input: input),
                     candidates: candidates).start()
        }
    }
}
