import CSystemd

/// Talks to systemd's notify socket (Type=notify). Every call quietly does nothing when the
/// process was not started by systemd (no NOTIFY_SOCKET).
public enum ServiceNotifier {
    /// Sends `state` (`READY=1`, `STATUS=...`, `STOPPING=1`); true when systemd received it.
    @discardableResult
    public static func notify(_ state: String) -> Bool {
        sd_notify(0, state) > 0
    }

    public static func ready(status: String) { notify("READY=1\nSTATUS=\(status)") }
    public static func stopping() { notify("STOPPING=1") }
}
