import Foundation
import Station

/// The technician's screen, rendered from a `BenchView`: one row per slot (platform, device
/// ID, serial, step with a progress bar, bytes and ETA, PASS in green, FAIL in red with the
/// reason and its code, WAITING FOR SCAN), a totals line and the latest prompts, within
/// `width` x `height` (80x24 by default). Pure: text in, the caller writes it.
public struct BenchScreen: Sendable {
    public var width: Int
    public var height: Int
    public var color: Bool
    public var title: String

    public init(title: String, width: Int = 80, height: Int = 24, color: Bool = true) {
        self.title = title
        self.width = width
        self.height = height
        self.color = color
    }

    func paint(_ text: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }

    /// Cuts or pads to `count` visible characters.
    static func fit(_ text: String, _ count: Int) -> String {
        if text.count <= count { return text + String(repeating: " ", count: count - text.count) }
        return String(text.prefix(max(0, count - 1))) + "…"
    }

    static func bytes(_ count: Int) -> String {
        count >= 1_048_576 ? String(format: "%.1fM", Double(count) / 1_048_576) : "\(count / 1024)K"
    }

    /// The screen's lines (no trailing newlines), at most `height`.
    public func lines(_ view: BenchView) -> [String] {
        var out: [String] = []
        let clock = String(format: "%02d:%02d", Int(view.elapsed) / 60, Int(view.elapsed) % 60)
        out.append(Self.fit("\(title)  \(clock)", width))
        out.append(Self.fit("SLOT   PLATFORM DEVICE      SERIAL          STATUS", width))
        let promptLines = min(4, view.prompts.count)
        let room = max(1, height - 3 - promptLines - 1)
        let shown = view.rows.prefix(room)
        let statusWidth = width - 48
        for row in shown {
            let device = String(row.deviceID.suffix(10))
            let lead = Self.fit(row.slot, 6) + " " + Self.fit(row.platform ?? "?", 8) + " " + Self.fit(device, 11) + " " + Self.fit(row.serial ?? "-", 15) + " "
            out.append(lead + status(row, width: statusWidth))
        }
        if view.rows.count > shown.count { out.append(Self.fit("… \(view.rows.count - shown.count) more", width)) }
        let totals = "passed \(view.passed)  failed \(view.failed)  \(String(format: "%.0f", view.perHour))/hour"
        out.append(Self.fit(totals, width))
        for prompt in view.prompts.suffix(promptLines) { out.append(Self.fit("> " + prompt, width)) }
        return Array(out.prefix(height))
    }

    func status(_ row: BenchView.Row, width: Int) -> String {
        switch row.step {
        case .passed:
            return paint("PASS", "1;32") + (row.attempt > 1 ? " (attempt \(row.attempt))" : "")
        case .failed:
            // The code first: it must stay visible when the reason is cut to fit.
            let failure = row.failure.map { "[\($0.code)] \($0.message)" } ?? "failed"
            return paint("FAIL", "1;31") + " " + paint(Self.fit(failure, width - 5).trimmingCharacters(in: .whitespaces), "31")
        case .waitingForScan:
            return paint("WAITING FOR SCAN", "1;33")
        case .interrupted:
            return paint("UNPLUGGED: plug it back in", "33")
        case .flashing:
            guard let progress = row.progress, progress.total > 0 else { return "flashing" }
            let barWidth = 12
            let filled = min(barWidth, progress.done * barWidth / progress.total)
            let bar = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: barWidth - filled) + "]"
            let eta = row.eta.map { String(format: " %.0fs", $0) } ?? ""
            return Self.fit("\(bar) \(Self.bytes(progress.done))/\(Self.bytes(progress.total))\(eta)", width)
        case .identifying: return "identifying"
        case .finishing: return "finishing"
        case .connectivityTest: return "connectivity test"
        case .detected: return "detected"
        }
    }

    /// A whole frame for a terminal: cursor home, the lines, clear to the end.
    public func frame(_ view: BenchView) -> String {
        "\u{1B}[H" + lines(view).map { $0 + "\u{1B}[K" }.joined(separator: "\n") + "\n\u{1B}[J"
    }
}

/// The plain mode for logs and pipes: one line per change of a device's step or result,
/// and each new prompt.
public struct PlainBenchLog: Sendable {
    var seen: [String: String] = [:]
    var promptsSeen = 0
    var lastPrompts: [String] = []

    public init() {}

    public mutating func lines(_ view: BenchView) -> [String] {
        var out: [String] = []
        for row in view.rows {
            let state: String
            switch row.step {
            case .passed: state = "PASS"
            case .failed: state = "FAIL [\(row.failure?.code ?? "?")] \(row.failure?.message ?? "")"
            case .waitingForScan: state = "WAITING FOR SCAN"
            default: state = row.step.rawValue
            }
            let key = "\(row.deviceID)#\(row.attempt)"
            if seen[key] != state {
                seen[key] = state
                out.append("\(row.slot) \(row.platform ?? "?") \(row.deviceID) \(row.serial ?? "-"): \(state)")
            }
        }
        // Prompts: the view keeps the latest five; print the ones not printed yet.
        let fresh = view.prompts.count >= lastPrompts.count && Array(view.prompts.prefix(lastPrompts.count)) == lastPrompts
            ? Array(view.prompts.dropFirst(lastPrompts.count))
            : view.prompts.filter { !lastPrompts.contains($0) }
        out += fresh.map { "> " + $0 }
        lastPrompts = view.prompts
        return out
    }
}
