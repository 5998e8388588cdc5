import Foundation
import Station

/// The technician's screen, rendered from a `BenchView`, within `width` x `height` (80x24
/// and larger):
///
/// - the title, and a standing banner when something is wrong for the whole bench;
/// - one row per slot (configured slots from the start, empty ones too): slot, platform,
///   device (serial number, else the end of the device ID), state with a progress bar;
///   PASS and FAIL as words in reverse video, so they differ without colour; a FAIL with its
///   whole code and what to do next, from `FailureTable` (on a second line when the row has
///   no room for both);
/// - totals, the whole reason of the latest failure (or the slot picked with `d SLOT`),
///   prompts still current, and the command line, always on the last line.
///
/// Pure: text in, the caller writes it. Nothing is cut with "…": long text wraps at spaces.
public struct BenchScreen: Sendable {
    public var width: Int
    public var height: Int
    public var color: Bool
    public var title: String

    public init(title: String, width: Int = 80, height: Int = 24, color: Bool = true) {
        self.title = title
        self.width = max(80, width)
        self.height = max(24, height)
        self.color = color
    }

    /// Column widths of a row.
    static let slotWidth = 7, platformWidth = 8, deviceWidth = 15

    func paint(_ text: String, _ code: String) -> String { color ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }

    /// A result word in reverse video (at least 4 columns, padded), coloured when allowed.
    func badge(_ word: String, _ colour: String) -> String {
        "\u{1B}[7" + (color ? ";1;\(colour)" : "") + "m " + word + " \u{1B}[0m"
    }

    /// Pads to `count` visible characters; text already that long is kept whole.
    static func pad(_ text: String, _ count: Int) -> String {
        text.count >= count ? text : text + String(repeating: " ", count: count - text.count)
    }

    /// Wraps at spaces to `width` columns, later lines behind `indent`; a word longer than
    /// a line is split.
    public static func wrap(_ text: String, width: Int, indent: String = "") -> [String] {
        var lines: [String] = []
        var current = ""
        func room() -> Int { width - (lines.isEmpty ? 0 : indent.count) }
        func flush() {
            lines.append((lines.isEmpty ? "" : indent) + current)
            current = ""
        }
        for word in text.split(separator: " ") {
            var word = Substring(word)
            if !current.isEmpty, current.count + 1 + word.count > room() { flush() }
            if !current.isEmpty { current += " " }
            while current.count + word.count > room() {
                let take = room() - current.count
                current += word.prefix(take)
                word = word.dropFirst(take)
                flush()
            }
            current += word
        }
        if !current.isEmpty || lines.isEmpty { flush() }
        return lines
    }

    static func bytes(_ count: Int) -> String {
        count >= 1_048_576 ? String(format: "%.1fM", Double(count) / 1_048_576) : "\(count / 1024)K"
    }

    /// The screen's lines (no trailing newlines), at most `height`, each at most `width`
    /// visible columns.
    public func lines(_ view: BenchView) -> [String] { compose(view, summary: []) }

    /// The screen at the end of a run: the final grid with every slot's result, then the
    /// summary (wrapped at spaces) below it, within `height - 1` lines (the shell's prompt
    /// takes the last one, so nothing scrolls away).
    public func finalLines(_ view: BenchView, summary: [String]) -> [String] { compose(view, summary: summary, height: height - 1) }

    func compose(_ view: BenchView, summary: [String], height: Int? = nil) -> [String] {
        let height = height ?? self.height
        let clock = String(format: "%02d:%02d", Int(view.elapsed) / 60, Int(view.elapsed) % 60)
        let head = Self.wrap("\(title)  \(clock)", width: width)
        let banner = view.banner.map { Self.wrap("! " + $0, width: width, indent: "  ").prefix(3).map { paint($0, "1;33") } } ?? []
        let header = Self.pad("SLOT", Self.slotWidth) + " " + Self.pad("PLATFORM", Self.platformWidth) + " " + Self.pad("DEVICE", Self.deviceWidth) + " STATE"
        let rowLines = view.rows.map(row)
        let totals = "passed \(view.passed)  failed \(view.failed)" + (view.protected > 0 ? "  protected \(view.protected)" : "")
            + "  \(String(format: "%.0f", view.perHour))/hour"
        let detail = view.detail.map(detailBlocks) ?? []
        let summaryLines = summary.flatMap { Self.wrap($0, width: width, indent: "  ") }
        let prompts = summary.isEmpty ? view.prompts.suffix(4).map { Self.wrap("> " + $0, width: width, indent: "  ") } : []
        let command = BenchInput.commandLine

        // Fixed: head, banner, header, totals, command. While the bench runs, the detail
        // (whole parts, in order) comes first, then the rows, then prompts; at the end of a
        // run, the rows, the summary, then the detail.
        var room = height - head.count - banner.count - 3
        var detailShown: [String] = []
        func takeDetail() {
            for block in detail {
                guard block.count <= room, detailShown.count + block.count <= 8 || !summary.isEmpty else { break }
                detailShown += block
                room -= block.count
            }
        }
        if summary.isEmpty { takeDetail() }
        var shownRows: [[String]] = []
        var used = 0
        for (index, lines) in rowLines.enumerated() {
            let needsMore = index < rowLines.count - 1
            if used + lines.count + (needsMore ? 1 : 0) > room {
                break
            }
            shownRows.append(lines)
            used += lines.count
        }
        room -= used
        let hidden = rowLines.count - shownRows.count
        if hidden > 0 { room -= 1 }
        let summaryShown = Array(summaryLines.prefix(max(0, room)))
        room -= summaryShown.count
        if !summary.isEmpty { takeDetail() }
        // Whole prompts only, the newest kept first.
        var promptsShown: [String] = []
        for prompt in prompts.reversed() where prompt.count <= room {
            promptsShown = prompt + promptsShown
            room -= prompt.count
        }

        var out = head + banner + [header]
        out += shownRows.flatMap { $0 }
        if hidden > 0 { out.append("+ \(hidden) more slot(s) below this screen: make the terminal taller to see them") }
        out.append(totals)
        out += detailShown
        out += promptsShown
        out += summaryShown
        out.append(command)
        return Array(out.prefix(height))
    }

    /// One slot's row: one line, or two when a FAIL's code and action do not fit on one.
    func row(_ row: BenchView.Row) -> [String] {
        let device = row.empty ? "" : row.serial ?? String(row.deviceID.suffix(Self.deviceWidth))
        let lead = Self.pad(row.slot, Self.slotWidth) + " " + Self.pad(row.empty ? "" : row.platform ?? "?", Self.platformWidth) + " "
            + Self.pad(device, Self.deviceWidth) + " "
        let room = width - lead.count
        if row.empty { return [lead + " empty: plug a device in"] }
        switch row.step {
        case .passed:
            return [lead + badge("PASS", "32") + " unplug it" + (row.attempt > 1 ? " (attempt \(row.attempt))" : "")]
        case .failed:
            let code = row.failure?.code ?? "FAILED"
            let next = (FailureTable.entry(for: code)?.next ?? .callTheLineLead).short
            // " FAIL " is 6 columns.
            if 6 + 1 + code.count + 2 + next.count <= room { return [lead + badge("FAIL", "31") + " " + paint(code, "1;31") + ": " + next] }
            let indent = String(repeating: " ", count: lead.count + 7)
            if 6 + 1 + code.count <= room { return [lead + badge("FAIL", "31") + " " + paint(code, "1;31"), indent + "next: " + next] }
            // A code too long for the row (it names a file) wraps on lines of its own.
            return [lead + badge("FAIL", "31") + " next: " + next] + Self.wrap(code, width: width - 4).map { "    " + paint($0, "1;31") }
        case .waitingForScan:
            return [lead + " " + paint("WAITING FOR SCAN: scan its sticker", "1;33")]
        case .interrupted:
            return [lead + " " + paint("UNPLUGGED: plug it back in", "33")]
        case .flashing:
            guard let progress = row.progress, progress.total > 0 else { return [lead + " flashing"] }
            let barWidth = 12
            let filled = min(barWidth, progress.done * barWidth / progress.total)
            let bar = "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: barWidth - filled) + "]"
            let eta = row.eta.map { String(format: " %.0fs", $0) } ?? ""
            return [lead + " \(bar) \(Self.bytes(progress.done))/\(Self.bytes(progress.total))\(eta)"]
        case .identifying, .finishing, .connectivityTest, .detected:
            return [lead + " " + row.step.label + (row.attempt > 1 ? " (attempt \(row.attempt))" : "")]
        }
    }

    /// The detail area in three parts: slot, code and meaning; the whole reason; what to do
    /// next.
    func detailBlocks(_ detail: BenchView.Detail) -> [[String]] {
        let entry = FailureTable.entry(for: detail.failure.code)
        let next = entry?.next ?? .callTheLineLead
        return [
            Self.wrap("\(detail.slot) \(detail.failure.code): " + (entry?.meaning ?? "not in the failure table"), width: width, indent: "  "),
            Self.wrap("reason: " + detail.failure.message, width: width, indent: "  "),
            Self.wrap("next: " + next.short + ": " + next.instruction, width: width, indent: "  "),
        ]
    }

    /// A whole frame for a terminal: cursor home, the lines, clear to the end (no newline
    /// after the last line: a full screen must not scroll).
    public func frame(_ view: BenchView) -> String {
        "\u{1B}[H" + lines(view).map { $0 + "\u{1B}[K" }.joined(separator: "\n") + "\u{1B}[J"
    }

    /// The last frame of a run, with its summary below the grid.
    public func finalFrame(_ view: BenchView, summary: [String]) -> String {
        "\u{1B}[H" + finalLines(view, summary: summary).map { $0 + "\u{1B}[K" }.joined(separator: "\n") + "\n\u{1B}[J"
    }
}

/// The plain mode for logs and pipes: one line per change of a device's step or result,
/// and each new prompt. A FAIL carries its code, its whole reason and what to do next.
public struct PlainBenchLog: Sendable {
    var seen: [String: String] = [:]
    var lastPrompts: [String] = []
    var lastPromptID = 0
    var banner: String?

    public init() {}

    public mutating func lines(_ view: BenchView) -> [String] {
        var out: [String] = []
        if view.banner != banner {
            banner = view.banner
            if let text = view.banner { out.append("! " + text) }
        }
        for row in view.rows where !row.empty {
            let state: String
            switch row.step {
            case .passed: state = "PASS"
            case .failed:
                let code = row.failure?.code ?? "?"
                let next = (FailureTable.entry(for: code)?.next ?? .callTheLineLead).short
                state = "FAIL [\(code)] \(row.failure?.message ?? "") (next: \(next))"
            case .waitingForScan: state = "WAITING FOR SCAN"
            default: state = row.step.rawValue
            }
            let key = "\(row.deviceID)#\(row.attempt)"
            if seen[key] != state {
                seen[key] = state
                out.append("\(row.slot) \(row.platform ?? "?") \(row.deviceID) \(row.serial ?? "-"): \(state)")
            }
        }
        // Prompts: the view keeps the latest five current ones; print the ones not printed
        // yet (by number when the view numbers them: the same text later is a new prompt).
        if view.promptIDs.count == view.prompts.count, !view.promptIDs.isEmpty {
            for (id, text) in zip(view.promptIDs, view.prompts) where id > lastPromptID {
                out.append("> " + text)
                lastPromptID = id
            }
            return out
        }
        let fresh = view.prompts.filter { !lastPrompts.contains($0) }
        out += fresh.map { "> " + $0 }
        lastPrompts = Array((lastPrompts + fresh).suffix(50))
        return out
    }
}
