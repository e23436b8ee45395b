#if canImport(Glibc)
import Glibc
#endif

/// Questions on the terminal for the interactive commands: a line, a choice, a secret typed
/// without echo (the terminal's ECHO flag off while it is read).
enum Terminal {
    static var isInteractive: Bool { isatty(0) == 1 }

    static func say(_ text: String) {
        var line = text + "\n"
        line.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
    }

    /// Asks and reads one line; `default` when the answer is empty; nil at end of input.
    static func ask(_ question: String, default fallback: String? = nil) -> String? {
        var prompt = question + (fallback.map { " [\($0)]" } ?? "") + ": "
        prompt.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
        guard let line = readLine(strippingNewline: true) else { return nil }
        let answer = line.trimmingWhitespace()
        return answer.isEmpty ? fallback ?? "" : answer
    }

    static func confirm(_ question: String, default yes: Bool) -> Bool {
        guard let answer = ask(question + (yes ? " [Y/n]" : " [y/N]"))?.lowercased() else { return false }
        return answer.isEmpty ? yes : answer.hasPrefix("y")
    }

    /// Reads a line with echo off (a secret); the terminal is restored however the read ends.
    static func askSecret(_ question: String) -> String? {
        var saved = termios()
        let isTTY = tcgetattr(0, &saved) == 0
        if isTTY {
            // Echo goes off before the question shows, so nothing typed after it is echoed.
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(0, TCSANOW, &quiet)
        }
        defer {
            if isTTY { tcsetattr(0, TCSANOW, &saved) }
            say("")
        }
        var prompt = question + ": "
        prompt.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
        return readLine(strippingNewline: true)
    }
}
