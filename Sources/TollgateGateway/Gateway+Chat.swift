import TollgateCore
import TollgateHTTP
import TollgateWire

extension Gateway {
    /// POST /v1/chat/completions: checks the body, plans the candidates and starts an exchange.
    func startChat(_ request: HTTPRequest, _ response: any ResponseWriter, client: ResolvedClient?) {
        // A scan checks the whole body and finds the fields needed here; nothing is parsed
        // unless a translating protocol (or an estimate) asks for the JSON later.
        let scan: JSONScan
        do {
            scan = try JSONScan.scan(request.body)
        } catch {
            return respondError(response, .invalidRequest("The request body is not valid JSON: \(error)."))
        }
        guard scan.isObject else {
            return respondError(response, .invalidRequest("The request body must be a JSON object."))
        }
        var input = ChatRequestInput(rawBody: request.body, scan: scan, model: "", stream: false)
        guard let model = input.member("model")?.stringValue, !model.isEmpty else {
            return respondError(response, .invalidRequest("The \"model\" field is required and must be a string.", param: "model"))
        }
        guard let messages = input.memberRange("messages"), request.body[messages.lowerBound] == UInt8(ascii: "[") else {
            return respondError(response, .invalidRequest("The \"messages\" field is required and must be an array.",
                                                          param: "messages"), model: model)
        }
        var stream = false
        if let value = input.member("stream"), !value.isNull {
            guard let flag = value.boolValue else {
                return respondError(response, .invalidRequest("\"stream\" must be a boolean.", param: "stream"), model: model)
            }
            stream = flag
        }
        let snapshot = self.snapshot
        // The same scanned request, now with its model and stream: one lazily parsed JSON per request.
        input.model = model
        input.stream = stream
        let pinned = request.headers["x-tollgate-provider"].map { String($0.trimmingWhitespaceASCII()) }
        let candidates: [Candidate]
        let clientKey = request.headers[Candidate.clientKeyHeader].map { String($0.trimmingWhitespaceASCII()) }
        switch snapshot.plan(model: model, pinned: pinned, needs: input.neededCapabilities)
            .flatMap({ Candidate.applyingClientKey(clientKey, to: $0) }) {
        case .success(let list): candidates = list
        case .failure(let error): return respondError(response, error, model: model)
        }
        Exchange(gateway: self, snapshot: snapshot, writer: response, adapter: ChatAdapter(input: input, gateway: self, relaysBytes: true),
                 candidates: candidates, client: client).start()
    }
}
