import Station
import StationAgent
import Testing

/// The technician's screen at 80x24 and larger: every slot, whole codes with what to do
/// next, PASS and FAIL told apart without colour, nothing cut with "…", the keys always
/// shown; the plain mode prints each change once.
@Suite struct BenchScreenTests {
    func row(_ slot: String, _ step: JobStep, failure: JobFailure? = nil, progress: Job.Progress? = nil) -> BenchView.Row {
        BenchView.Row(slot: slot, port: "1-\(slot)", deviceID: "e00fce68ae40e8a1f5b4000\(slot)", platform: "boron", serial: "P0AAAAAAAAAAAA\(slot)",
                      step: step, attempt: 1, progress: progress, eta: progress == nil ? nil : 12, failure: failure, guardLatency: 0.2)
    }

    func visible(_ line: String) -> String { line.replacing(/\u{1B}\[[0-9;]*[A-Za-z]/, with: "") }

    static let longReason = String(repeating: "a very long reason ", count: 10) + "END"

    /// A protected unit's row says where it goes, the detail area the rework action in full,
    /// and the totals count it apart from the failures.
    @Test func aProtectedUnitIsShownWithItsReworkAction() {
        let failure = JobFailure(code: "PLAN-PROTECTED", message: "the device is protected (Device Protection): it cannot be written over USB")
        #expect(failure.isProtectedUnit && !JobFailure(code: "DFU-WRITE-STALL", message: "").isProtectedUnit)
        let view = BenchView(rows: [row("1", .failed, failure: failure), row("2", .passed)], passed: 1, failed: 0, protected: 1, perHour: 60, prompts: [],
                             elapsed: 60, detail: BenchView.Detail(slot: "1", deviceID: "e00fce68ae40e8a1f5b40001", failure: failure))
        let text = BenchScreen(title: "t", width: 80, height: 24).lines(view).map(visible).joined(separator: "\n")
        #expect(text.contains(" FAIL  PLAN-PROTECTED: route to online rework"), "\(text)")
        let flowing = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(flowing.contains("next: route to online rework: Protected: rework needs Service Mode, which needs the cloud; route to the online rework bench."), "\(flowing)")
        #expect(text.contains("passed 1  failed 0  protected 1"))
        var plain = PlainBenchLog()
        #expect(plain.lines(view).contains { $0.contains("FAIL [PLAN-PROTECTED]") && $0.hasSuffix("(next: route to online rework)") })
    }

    @Test(arguments: [(80, 24), (100, 30), (132, 43)])
    func aFullBenchFitsTheTerminal(width: Int, height: Int) {
        var rows = (1...9).map { row(String($0), .passed) }
        rows.append(row("A", .failed, failure: JobFailure(code: "DFU-WRITE-STALL", message: Self.longReason)))
        rows.append(row("W", .failed, failure: JobFailure(code: "CONNECTIVITY-ACTIVATION-TIMEOUT", message: "slow SIM")))
        rows.append(row("B", .flashing, progress: .init(done: 300_000, total: 600_000)))
        rows.append(row("C", .waitingForScan))
        rows += (1...20).map { row("Z\($0)", .identifying) }
        let detail = BenchView.Detail(slot: "A", deviceID: "e00fce68ae40e8a1f5b4000A", failure: JobFailure(code: "DFU-WRITE-STALL", message: Self.longReason))
        let view = BenchView(rows: rows, passed: 9, failed: 2, perHour: 312, prompts: (1...5).map { "prompt \($0)" }, elapsed: 95, detail: detail)
        let lines = BenchScreen(title: "station line1-bench1", width: width, height: height).lines(view)
        #expect(lines.count <= height)
        for line in lines { #expect(visible(line).count <= width, "\(visible(line))") }
        let text = lines.map(visible).joined(separator: "\n")
        #expect(!text.contains("…"), "nothing is cut")
        #expect(text.contains(" FAIL  DFU-WRITE-STALL: replug and retry"), "the whole code and what to do next")
        let long = FailureTable.entry(for: "CONNECTIVITY-ACTIVATION-TIMEOUT")?.next.short ?? "?"
        #expect(width > 80 || text.contains("CONNECTIVITY-ACTIVATION-TIMEOUT") && text.contains("next: \(long)"), "a long code keeps its action on a second line")
        #expect(visible(lines.last ?? "") == BenchInput.commandLine, "the keys are always shown")
        #expect(height > 40 || text.contains("more slot(s)"))
        #expect(text.contains("passed 9  failed 2  312/hour"))
        let flowing = text.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(flowing.contains("reason: " + Self.longReason), "the whole reason in the detail area: \(text)")
        if height >= 30 {
            #expect(text.contains("[######------] 292K/585K 12s") && text.contains("WAITING FOR SCAN"))
        }
        // PASS and FAIL are words in reverse video, with or without colour.
        for color in [true, false] {
            let joined = BenchScreen(title: "t", width: width, height: height, color: color).lines(view).joined()
            #expect(joined.contains("\u{1B}[7" + (color ? ";1;32" : "") + "m PASS \u{1B}[0m"))
            #expect(joined.contains("\u{1B}[7" + (color ? ";1;31" : "") + "m FAIL \u{1B}[0m"))
        }
    }

    @Test func configuredSlotsShowFromTheStart() {
        let empty = BenchView.Row(slot: "A2", port: nil, deviceID: "", platform: nil, serial: nil, step: .detected, attempt: 0, progress: nil, eta: nil,
                                  failure: nil, guardLatency: nil, empty: true)
        let view = BenchView(rows: [row("A1", .identifying), empty], passed: 0, failed: 0, perHour: 0, prompts: [], elapsed: 1)
        let text = BenchScreen(title: "t", color: false).lines(view).map(visible).joined(separator: "\n")
        #expect(text.contains("A2") && text.contains("empty: plug a device in"))
    }

    @Test func theFinalScreenKeepsEverySlotAndWrapsTheSummaryAtSpaces() {
        let rows = (1...4).map { row(String($0), .passed) } + [
            row("5", .failed, failure: JobFailure(code: "DFU-WRITE-STALL", message: Self.longReason)),
            row("6", .failed, failure: JobFailure(code: "PAIR-MISMATCH", message: "the scanned sticker says P0X but the device reports P0Y")),
        ]
        let detail = BenchView.Detail(slot: "5", deviceID: "x", failure: JobFailure(code: "DFU-WRITE-STALL", message: Self.longReason))
        let view = BenchView(rows: rows, passed: 4, failed: 2, perHour: 240, prompts: ["1: PASS, unplug the device"], elapsed: 30, detail: detail)
        let summary = ["import: the fake cloud imported 4 in 4 request(s), exactly the passed devices",
                       "report: /tmp/station-demo-1764656000/report.html", "demo: PASS (4 passed; 2 failed as intended: DFU-WRITE-STALL, PAIR-MISMATCH)",
                       String(repeating: "wrapping-words ", count: 12)]
        let lines = BenchScreen(title: "station demo", color: false).finalLines(view, summary: summary).map(visible)
        #expect(lines.count <= 23, "the shell's prompt keeps the last line")
        for slot in 1...6 { #expect(lines.contains { $0.hasPrefix("\(slot) ") }) }
        let text = lines.joined(separator: "\n")
        #expect(text.contains("DFU-WRITE-STALL: replug and retry") && text.contains("PAIR-MISMATCH: find the right sticker"))
        for word in summary.joined(separator: " ").split(separator: " ") { #expect(text.contains(word), "no word is broken: \(word)") }
        #expect(lines.last == BenchInput.commandLine)
        #expect(!text.contains("…"))
    }

    @Test func wrappingKeepsEveryWordAndTheWidth() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let words = (0..<Int.random(in: 1...40, using: &generator)).map { _ in String(repeating: "x", count: Int.random(in: 1...30, using: &generator)) }
            let lines = BenchScreen.wrap(words.joined(separator: " "), width: 40, indent: "  ")
            #expect(lines.allSatisfy { $0.count <= 40 })
            #expect(lines.joined(separator: " ").split(separator: " ").map(String.init) == words)
        }
    }

    @Test func plainModePrintsEachChangeOnce() {
        var log = PlainBenchLog()
        let first = BenchView(rows: [row("1", .identifying)], passed: 0, failed: 0, perHour: 0, prompts: ["scan it"], elapsed: 1)
        #expect(log.lines(first) == ["1 boron e00fce68ae40e8a1f5b40001 P0AAAAAAAAAAAA1: identifying", "> scan it"])
        #expect(log.lines(first).isEmpty)
        let second = BenchView(rows: [row("1", .passed)], passed: 1, failed: 0, perHour: 0, prompts: ["scan it", "1: PASS"], elapsed: 2)
        #expect(log.lines(second) == ["1 boron e00fce68ae40e8a1f5b40001 P0AAAAAAAAAAAA1: PASS", "> 1: PASS"])
        let third = BenchView(rows: [row("2", .failed, failure: JobFailure(code: "PAIR-MISMATCH", message: "wrong sticker"))], passed: 1, failed: 1, perHour: 0,
                              prompts: [], elapsed: 3, banner: "imports paused: the token was refused")
        #expect(log.lines(third) == ["! imports paused: the token was refused",
                                     "2 boron e00fce68ae40e8a1f5b40002 P0AAAAAAAAAAAA2: FAIL [PAIR-MISMATCH] wrong sticker (next: find the right sticker)"])
        #expect(log.lines(third).isEmpty, "the banner is printed once")
        // Numbered prompts: the same text later (the next device on the port) is printed again.
        var numbered = PlainBenchLog()
        let one = BenchView(rows: [], passed: 0, failed: 0, perHour: 0, prompts: ["1-1: scan the sticker of this boron"], elapsed: 1, promptIDs: [1])
        let two = BenchView(rows: [], passed: 0, failed: 0, perHour: 0, prompts: ["1-1: scan the sticker of this boron"], elapsed: 9, promptIDs: [7])
        #expect(numbered.lines(one) == ["> 1-1: scan the sticker of this boron"])
        #expect(numbered.lines(one).isEmpty)
        #expect(numbered.lines(two) == ["> 1-1: scan the sticker of this boron"])
    }
}
