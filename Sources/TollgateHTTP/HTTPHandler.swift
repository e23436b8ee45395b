/// What the server calls for every complete request, on the connection's loop queue.
/// The handler must eventually answer through the writer (at once or later on the same queue).
public protocol HTTPHandler: AnyObject, Sendable {
    func handle(_ request: HTTPRequest, _ response: any ResponseWriter)
}
