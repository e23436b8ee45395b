import CCurl
import Dispatch

/// Read and write DispatchSources for one upstream socket, suspended when curl does not
/// need them. Lives on the client's queue.
final class SocketWatch {
    let fd: Int32
    let queue: DispatchQueue
    let onEvent: (Int32) -> Void
    private var readSource: (any DispatchSourceRead)?
    private var writeSource: (any DispatchSourceWrite)?
    private var reading = false
    private var writing = false
    private var openSources = 0
    private var onClosed: (() -> Void)?
    private var cancelled = false

    init(fd: Int32, queue: DispatchQueue, onEvent: @escaping (Int32) -> Void) {
        self.fd = fd
        self.queue = queue
        self.onEvent = onEvent
    }

    func want(read: Bool, write: Bool) {
        guard !cancelled else { return }
        if read, readSource == nil {
            let source = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
            source.setEventHandler { [unowned self] in onEvent(Int32(CURL_CSELECT_IN)) }
            source.setCancelHandler { [self] in sourceCancelled() }
            openSources += 1
            readSource = source
        }
        if write, writeSource == nil {
            let source = DispatchSource.makeWriteSource(fileDescriptor: fd, queue: queue)
            source.setEventHandler { [unowned self] in onEvent(Int32(CURL_CSELECT_OUT)) }
            source.setCancelHandler { [self] in sourceCancelled() }
            openSources += 1
            writeSource = source
        }
        if read != reading, let readSource {
            reading = read
            if read { readSource.resume() } else { readSource.suspend() }
        }
        if write != writing, let writeSource {
            writing = write
            if write { writeSource.resume() } else { writeSource.suspend() }
        }
    }

    /// Cancels both sources; `closed` runs once libdispatch has let go of the fd.
    func cancel(then closed: @escaping () -> Void) {
        guard !cancelled else { return }
        cancelled = true
        onClosed = closed
        if openSources == 0 {
            closed()
            return
        }
        if let readSource {
            readSource.cancel()
            if !reading { readSource.resume() }
        }
        if let writeSource {
            writeSource.cancel()
            if !writing { writeSource.resume() }
        }
    }

    private func sourceCancelled() {
        openSources -= 1
        if openSources == 0 {
            readSource = nil
            writeSource = nil
            onClosed?()
            onClosed = nil
        }
    }
}
