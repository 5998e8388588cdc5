import Foundation

/// Turns the terminal's echo off while a keyboard-wedge scanner types into it: the kernel
/// would otherwise echo every scan, mobile secret and all, onto the screen (and into the
/// scrollback). Restored when the process exits, normally or on SIGINT/SIGTERM/SIGHUP.
enum TerminalEcho {
    // Written once before any handler can run, read by the handlers.
    nonisolated(unsafe) static var saved = termios()
    nonisolated(unsafe) static var isOff = false

    static func off() {
        guard isatty(STDIN_FILENO) == 1, !isOff else { return }
        var current = termios()
        guard tcgetattr(STDIN_FILENO, &current) == 0 else { return }
        saved = current
        current.c_lflag &= ~tcflag_t(ECHO)
        guard tcsetattr(STDIN_FILENO, TCSANOW, &current) == 0 else { return }
        isOff = true
        atexit { TerminalEcho.restore() }
        for signal in [SIGINT, SIGTERM, SIGHUP] {
            _ = Glibc.signal(signal) { number in
                TerminalEcho.restore()
                _exit(128 + number)
            }
        }
    }

    static func restore() {
        guard isOff else { return }
        _ = tcsetattr(STDIN_FILENO, TCSANOW, &saved)
        isOff = false
    }
}
