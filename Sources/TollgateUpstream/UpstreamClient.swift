import CCurl
import CShims
import Dispatch
#if canImport(Glibc)
import Glibc
#endif
import TollgateCore

/// The upstream HTTP client of one event loop: a curl multi handle whose sockets and timer
/// are in the loop's epoll set (no polling thread, no hop between queues). curl is driven
/// once at the end of each batch of events for the transfers added in it. Connections to an
/// upstream stay in the multi handle's cache and are reused. Lives on the loop's queue.
public final class UpstreamClient {
    /// The loop owns this client (as its attachment): unowned, so the two do not keep each other alive.
    public unowned let loop: any SocketLoop
    public let queue: DispatchQueue
    let multi: UnsafeMutableRawPointer
    /// Sockets in the loop's set.
    private var watched: Set<Int32> = []
    private var transfers: [UnsafeMutableRawPointer: UpstreamTransfer] = [:]
    private var idleHandles: [UnsafeMutableRawPointer] = []
    /// What each easy handle is configured for (the request's shape: method, URL, headers,
    /// timeouts) and the header list it uses. A handle whose next request has the same shape
    /// keeps its options; only the body and the transfer's pointers change.
    private var configured: [UnsafeMutableRawPointer: (shape: Shape?, headers: UnsafeMutablePointer<curl_slist>?)] = [:]
    /// Depth of calls into curl; while non-zero, curl's multi API must not be re-entered.
    private var curlDepth = 0
    /// curl asked for a timeout run now: done once, at the end of the batch.
    private var timeoutDue = false
    /// When the loop's timer for curl fires (monotonic ns), or nil when disarmed.
    private var timerAt: UInt64?
    /// The deadline curl last asked for (monotonic ns); the timer may fire earlier, never later.
    private var curlDeadline: UInt64?
    /// Who signs requests that carry `awsSigV4`; `.automatic` picks curl only when it signs correctly.
    public var sigV4Signer: SigV4Signer = .automatic
    /// Seconds since 1970 for tollgate's SigV4 dates (tests fix it).
    var sigV4Clock: () -> Int = { time(nil) }
    private var closed = false

    static let globalInit: Bool = curl_global_init(3) == CURLE_OK  // 3 = CURL_GLOBAL_ALL, a macro Swift cannot import

    public init(loop: any SocketLoop) {
        _ = Self.globalInit
        self.loop = loop
        queue = loop.queue
        multi = curl_multi_init()
        let me = Unmanaged.passUnretained(self).toOpaque()
        _ = tg_curl_multi_setopt_socket(multi, { _, fd, what, userp, _ in
            Unmanaged<UpstreamClient>.fromOpaque(userp!).takeUnretainedValue().socketCallback(fd: fd, what: what)
            return 0
        }, me)
        _ = tg_curl_multi_setopt_timer(multi, { _, ms, userp in
            Unmanaged<UpstreamClient>.fromOpaque(userp!).takeUnretainedValue().timerCallback(ms: ms)
            return 0
        }, me)
        _ = tg_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, 512)
        loop.setExternalHandlers(socket: { [unowned self] fd, events in
            var mask: Int32 = 0
            if events.contains(.readable) || events.contains(.hangup) { mask |= Int32(CURL_CSELECT_IN) }
            if events.contains(.writable) { mask |= Int32(CURL_CSELECT_OUT) }
            if events.contains(.error) { mask |= Int32(CURL_CSELECT_ERR) }
            drive(socket: fd, events: mask)
        }, timer: { [unowned self] in
            timerAt = nil
            drive(socket: tg_curl_socket_timeout(), events: 0)
            // curl tells its next deadline only when it changes: keep it armed.
            if timerAt == nil, let deadline = curlDeadline { arm(at: deadline) }
        })
    }

    /// Transfers in progress.
    public var activeTransfers: Int { transfers.count }

    /// Closes every transfer and connection. Call on the queue before dropping the client.
    public func close() {
        guard !closed else { return }
        for transfer in Array(transfers.values) { transfer.cancel() }
        loop.armExternalTimer(nanoseconds: nil)
        releaseHandles()
    }

    /// When its loop goes (the client is the loop's attachment), curl's handles go too. The
    /// loop is not touched here: it is being torn down.
    deinit { releaseHandles() }

    private func releaseHandles() {
        guard !closed else { return }
        closed = true
        for (easy, _) in transfers {
            curl_multi_remove_handle(multi, easy)
            cleanup(easy)
        }
        transfers.removeAll()
        curl_multi_cleanup(multi)
        for easy in idleHandles { cleanup(easy) }
        idleHandles.removeAll()
    }

    // MARK: starting and removing transfers

    /// Prepares a transfer for `request`; nothing is sent until `start(_:)`. The delegate hears
    /// the head, each piece of body and the end — possibly before `start` returns, because curl
    /// is driven inline: keep the returned transfer before starting it.
    public func makeTransfer(_ request: UpstreamRequest, delegate: any UpstreamTransferDelegate) -> UpstreamTransfer {
        dispatchPrecondition(condition: .onQueue(queue))
        let shape = Self.shape(of: request)
        if let shape, let i = idleHandles.lastIndex(where: { configured[$0]?.shape == shape }) {
            let easy = idleHandles.remove(at: i)
            let transfer = UpstreamTransfer(easy: easy, client: self, delegate: delegate)
            configureTransfer(easy, body: request.method == "GET" ? nil : request.body, transfer: transfer)
            return transfer
        }
        let easy = idleHandles.popLast() ?? curl_easy_init()!
        if let old = configured.removeValue(forKey: easy) {
            curl_easy_reset(easy)
            if let list = old.headers { curl_slist_free_all(list) }
        }
        let transfer = UpstreamTransfer(easy: easy, client: self, delegate: delegate)
        let list = configure(easy, for: request, transfer: transfer)
        configured[easy] = (shape, list)
        return transfer
    }

    /// Starts a transfer made by `makeTransfer`.
    public func start(_ transfer: UpstreamTransfer) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard transfer.state == .running, !transfer.started else { return }
        transfer.started = true
        transfers[transfer.easy] = transfer
        if curlDepth > 0 {
            // Inside a curl callback: curl may not be re-entered; add it right after.
            let box = LoopBound((self, transfer))
            loop.atEndOfBatch {
                let (client, transfer) = box.value
                guard transfer.state == .running else { return }
                client.add(transfer)
            }
        } else {
            add(transfer)
        }
    }

    private func add(_ transfer: UpstreamTransfer) {
        let rc = curl_multi_add_handle(multi, transfer.easy)
        if rc != CURLM_OK {
            transfers[transfer.easy] = nil
            transfer.finished(code: CURLE_FAILED_INIT)
            recycle(transfer.easy, reset: true)
            return
        }
        // curl asks (timer 0) to be driven; that happens once at the end of the batch, for
        // every transfer added in it.
    }

    /// Takes a cancelled transfer out of the multi handle (deferred while inside curl).
    func remove(_ transfer: UpstreamTransfer) {
        guard transfers[transfer.easy] === transfer else {
            // Made but never started: the easy handle only needs to go back to the pool.
            if !transfer.started { recycle(transfer.easy) }
            return
        }
        if curlDepth > 0 {
            let box = LoopBound((self, transfer))
            loop.atEndOfBatch { box.value.0.remove(box.value.1) }
            return
        }
        transfers[transfer.easy] = nil
        curl_multi_remove_handle(multi, transfer.easy)
        recycle(transfer.easy, reset: true)
    }

    /// Lets a paused transfer read again. curl may deliver the bytes it kept from inside this call.
    func unpause(_ transfer: UpstreamTransfer) {
        guard transfers[transfer.easy] === transfer else { return }
        if curlDepth > 0 {
            let box = LoopBound((self, transfer))
            loop.atEndOfBatch { box.value.0.unpause(box.value.1) }
            return
        }
        curlDepth += 1
        _ = curl_easy_pause(transfer.easy, 0)  // CURLPAUSE_CONT
        curlDepth -= 1
        // Unpausing asks curl to look at the socket again.
        drive(socket: tg_curl_socket_timeout(), events: 0)
    }

    /// Returns a handle to the pool with its options kept (see `configured`), unless its
    /// transfer was cut short: then it is configured afresh (reset) before its next use.
    private func recycle(_ easy: UnsafeMutableRawPointer, reset: Bool = false) {
        if reset, configured[easy] != nil { configured[easy]?.shape = nil }
        if idleHandles.count < 256 { idleHandles.append(easy) } else { cleanup(easy) }
    }

    private func cleanup(_ easy: UnsafeMutableRawPointer) {
        curl_easy_cleanup(easy)
        if let list = configured.removeValue(forKey: easy)?.headers { curl_slist_free_all(list) }
    }

    /// What a handle's options depend on: two requests of the same shape configure a handle alike.
    /// The request's own strings are kept (no new text is built per request).
    struct Shape: Equatable {
        var method: String
        var url: String
        var connectTimeoutMs: Int
        var timeoutMs: Int
        var headers: HTTPHeaders
    }

    /// The shape of `request`; nil for a request signed per request (SigV4).
    static func shape(of request: UpstreamRequest) -> Shape? {
        guard request.awsSigV4 == nil else { return nil }
        return Shape(method: request.method, url: request.url, connectTimeoutMs: Int(request.connectTimeoutSeconds * 1000),
                     timeoutMs: Int(request.timeoutSeconds * 1000), headers: request.headers)
    }

    /// The options that change with every transfer: whose callbacks run, and the body.
    private func configureTransfer(_ easy: UnsafeMutableRawPointer, body: [UInt8]?, transfer: UpstreamTransfer) {
        let me = Unmanaged.passUnretained(transfer).toOpaque()
        _ = tg_curl_easy_setopt_pointer(easy, CURLOPT_PRIVATE, me)
        _ = tg_curl_easy_setopt_pointer(easy, CURLOPT_ERRORBUFFER, transfer.errorBuffer)
        _ = tg_curl_easy_setopt_pointer(easy, CURLOPT_WRITEDATA, me)
        _ = tg_curl_easy_setopt_pointer(easy, CURLOPT_HEADERDATA, me)
        guard let body else { return }
        _ = tg_curl_easy_setopt_offt(easy, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count))
        body.withUnsafeBufferPointer { buffer in
            // COPYPOSTFIELDS copies the bytes, so the body need not outlive this call.
            let pointer = UnsafeMutableRawPointer(mutating: buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!)
            _ = tg_curl_easy_setopt_pointer(easy, CURLOPT_COPYPOSTFIELDS, pointer)
        }
    }

    /// Every option for `request`; returns the header list the handle now uses.
    private func configure(_ easy: UnsafeMutableRawPointer, for request: UpstreamRequest,
                           transfer: UpstreamTransfer) -> UnsafeMutablePointer<curl_slist>? {
        let client = Unmanaged.passUnretained(self).toOpaque()
        _ = tg_curl_easy_setopt_string(easy, CURLOPT_URL, request.url)
        _ = tg_curl_easy_setopt_long(easy, CURLOPT_NOSIGNAL, 1)
        _ = tg_curl_easy_setopt_long(easy, CURLOPT_TCP_NODELAY, 1)
        _ = tg_curl_easy_setopt_long(easy, CURLOPT_TCP_KEEPALIVE, 1)
        _ = tg_curl_easy_setopt_long(easy, CURLOPT_CONNECTTIMEOUT_MS, Int(request.connectTimeoutSeconds * 1000))
        _ = tg_curl_easy_setopt_long(easy, CURLOPT_TIMEOUT_MS, Int(request.timeoutSeconds * 1000))
        _ = tg_curl_easy_setopt_data_callback(easy, CURLOPT_WRITEFUNCTION) { data, size, count, userdata in
            let transfer = Unmanaged<UpstreamTransfer>.fromOpaque(userdata!).takeUnretainedValue()
            let n = size * count
            switch transfer.receivedBody(UnsafeRawBufferPointer(start: data, count: n)) {
            case .taken: return n
            case .pause: return 0x1000_0001  // CURL_WRITEFUNC_PAUSE
            case .stop: return 0
            }
        }
        _ = tg_curl_easy_setopt_data_callback(easy, CURLOPT_HEADERFUNCTION) { data, size, count, userdata in
            let transfer = Unmanaged<UpstreamTransfer>.fromOpaque(userdata!).takeUnretainedValue()
            let n = size * count
            transfer.receivedHeaderLine(UnsafeRawBufferPointer(start: data, count: n))
            return n
        }
        _ = tg_curl_easy_setopt_opensocket(easy, { clientp, _, address in
            let client = Unmanaged<UpstreamClient>.fromOpaque(clientp!).takeUnretainedValue()
            guard let address else { return -1 }
            return client.openSocket(address)
        }, client)
        _ = tg_curl_easy_setopt_closesocket(easy, { clientp, fd in
            Unmanaged<UpstreamClient>.fromOpaque(clientp!).takeUnretainedValue().closeSocket(fd)
            return 0
        }, client)

        switch request.method {
        case "GET":
            _ = tg_curl_easy_setopt_long(easy, CURLOPT_HTTPGET, 1)
        default:
            _ = tg_curl_easy_setopt_long(easy, CURLOPT_POST, 1)
            if request.method != "POST" {
                _ = tg_curl_easy_setopt_string(easy, CURLOPT_CUSTOMREQUEST, request.method)
            }
        }

        var headers = request.headers
        let curlSigns = prepareSigV4(for: request, easy: easy, headers: &headers)
        var list: UnsafeMutablePointer<curl_slist>?
        for (name, value) in headers {
            list = curl_slist_append(list, "\(name): \(value)")
        }
        // curl would otherwise send `Expect: 100-continue` for larger bodies and wait a round trip.
        // Before 8.3 curl's signature would list this line as an `expect` header it never sends.
        if !curlSigns || Self.curlSignsOnlySentHeaders {
            list = curl_slist_append(list, "Expect:")
        }
        _ = tg_curl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, list)
        configureTransfer(easy, body: request.method == "GET" ? nil : request.body, transfer: transfer)
        return list
    }

    // MARK: driving curl

    private func drive(socket: curl_socket_t, events: Int32) {
        guard !closed else { return }
        var running: Int32 = 0
        curlDepth += 1
        curl_multi_socket_action(multi, socket, events, &running)
        curlDepth -= 1
        collectFinished()
    }

    private func collectFinished() {
        var pending: Int32 = 0
        while let message = curl_multi_info_read(multi, &pending) {
            guard message.pointee.msg == CURLMSG_DONE, let easy = message.pointee.easy_handle else { continue }
            let code = message.pointee.data.result
            guard let transfer = transfers.removeValue(forKey: easy) else { continue }
            curl_multi_remove_handle(multi, easy)
            transfer.finished(code: code)
            recycle(easy, reset: code != CURLE_OK)
        }
    }

    /// curl's CURLMOPT_TIMERFUNCTION: at most one timeout is pending, the latest replaces it.
    /// 0 ms runs curl once at the end of the batch; later ones go to the loop's timerfd, which
    /// is only re-armed when the new deadline is earlier (firing early is harmless: curl just
    /// reports its next timeout), so long connect and total timeouts cost no syscall per request.
    private func timerCallback(ms: Int) {
        if ms < 0 {
            curlDeadline = nil
            return
        }
        if ms == 0 {
            curlDeadline = nil
            guard !timeoutDue else { return }
            timeoutDue = true
            loop.atEndOfBatch { [self] in
                timeoutDue = false
                drive(socket: tg_curl_socket_timeout(), events: 0)
            }
            return
        }
        let at = DispatchTime.now().uptimeNanoseconds + UInt64(ms) * 1_000_000
        curlDeadline = at
        arm(at: at)
    }

    /// Arms the loop's timer for `at` unless it already fires earlier.
    private func arm(at: UInt64) {
        if let armed = timerAt, armed <= at { return }
        timerAt = at
        let now = DispatchTime.now().uptimeNanoseconds
        loop.armExternalTimer(nanoseconds: at > now ? at - now : 1)
    }

    // MARK: sockets

    private func openSocket(_ address: UnsafeMutablePointer<curl_sockaddr>) -> curl_socket_t {
        tg_socket_cloexec(address.pointee.family, address.pointee.socktype, address.pointee.protocol)
    }

    private func closeSocket(_ fd: Int32) {
        if watched.remove(fd) != nil { loop.unwatchExternal(fd) }
        Glibc.close(fd)
    }

    private func socketCallback(fd: Int32, what: Int32) {
        if what == CURL_POLL_REMOVE {
            if watched.remove(fd) != nil { loop.unwatchExternal(fd) }
            return
        }
        watched.insert(fd)
        loop.watchExternal(fd, read: what == CURL_POLL_IN || what == CURL_POLL_INOUT,
                           write: what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
    }
}
