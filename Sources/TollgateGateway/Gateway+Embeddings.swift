import TollgateCore
import TollgateHTTP
import TollgateWire

extension Gateway {
    /// POST /v1/embeddings: checks the body, plans the candidates that serve embeddings and starts an exchange.
    func startEmbeddings(_ request: HTTPRequest, _ response: any ResponseWriter, client: ResolvedClient?) {
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
        var tokenCounts: [Int]?
        switch json["input"] {
        case .string(let s)?: inputs = [s]
        case .array(let items)? where !items.isEmpty && items.allSatisfy({ $0.intValue != nil }):
            tokenCounts = [items.count]  // one input as token ids
        case .array(let items)? where !items.isEmpty && items.allSatisfy({ $0.arrayValue != nil }):
            var counts: [Int] = []
            for item in items {
                guard let ids = item.arrayValue, !ids.isEmpty, ids.allSatisfy({ $0.intValue != nil }) else {
                    return respondError(response, .invalidRequest("\"input\" as a list of lists must hold non-empty lists of token ids (integers).",
                                                                  param: "input"), model: model)
                }
                counts.append(ids.count)
            }
            tokenCounts = counts
        case .array(let items)?:
            for item in items {
                guard let s = item.stringValue else {
                    return respondError(response, .invalidRequest("\"input\" must be a string, a list of strings, a list of token ids or a list of such lists.",
                                                                  param: "input"), model: model)
                }
                inputs.append(s)
            }
        default:
            return respondError(response, .invalidRequest("The \"input\" field is required.", param: "input"), model: model)
        }
        guard !inputs.isEmpty || tokenCounts != nil else {
            return respondError(response, .invalidRequest("\"input\" must not be empty.", param: "input"), model: model)
        }
        let format = json["encoding_format"]?.stringValue ?? "float"
        guard format == "float" || format == "base64" else {
            return respondError(response, .invalidRequest("\"encoding_format\" must be \"float\" or \"base64\".",
                                                          param: "encoding_format"), model: model)
        }
        var input = EmbeddingRequestInput(json: json, rawBody: request.body, model: model, inputs: inputs,
                                          encodingFormat: format, dimensions: json["dimensions"]?.intValue)
        input.tokenCounts = tokenCounts
        let snapshot = self.snapshot
        let pinned = request.headers["x-tollgate-provider"].map { String($0.trimmingWhitespaceASCII()) }
        let clientKey = request.headers[Candidate.clientKeyHeader].map { String($0.trimmingWhitespaceASCII()) }
        switch snapshot.plan(model: model, pinned: pinned).flatMap({ Candidate.applyingClientKey(clientKey, to: $0) }) {
        case .failure(let error):
            respondError(response, error, model: model)
        case .success(let all):
            var candidates = all.filter { $0.provider.embed != nil }
            guard !candidates.isEmpty else {
                return respondError(response, .invalidRequest("No provider for \"\(model)\" serves embeddings.", param: "model",
                                                              code: "embeddings_not_supported"), model: model)
            }
            if tokenCounts != nil {
                // Token ids mean something only to the model's own tokenizer, and only OpenAI's
                // embeddings API takes them: other protocols are left out, and named when none remain.
                let refusing = candidates.filter { $0.provider.embed?.acceptsTokenInput != true }
                candidates.removeAll { $0.provider.embed?.acceptsTokenInput != true }
                guard !candidates.isEmpty else {
                    let names = refusing.map { "\($0.provider.name) (\($0.provider.embed?.name ?? "-"))" }.joined(separator: ", ")
                    return respondError(response, .invalidRequest("\"input\" is token ids, which \(names) cannot take; send the text instead.",
                                                                  param: "input", code: "token_input_not_supported"), model: model)
                }
            }
            Exchange(gateway: self, snapshot: snapshot, writer: response, adapter: EmbeddingAdapter(input: input),
                     candidates: candidates, client: client).start()
        }
    }
}
