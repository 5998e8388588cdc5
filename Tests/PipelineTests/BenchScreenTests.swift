import Station
import StationAgent
import Testing

/// The technician's screen fits 80x24, keeps failure codes visible, and the plain mode
/// prints each change once.
@Suite struct BenchScreenTests {
    func row(_ slot: String, _ step: JobStep, failure: JobFailure? = nil, progress: Job.Progress? = nil) -> BenchView.Row {
        BenchView.Row(slot: slot, port: "1-\(slot)", deviceID: "e00fce68ae40e8a1f5b4000\(slot)", platform: "boron", serial: "P0AAAAAAAAAAAA\(slot)",
                      step: step, attempt: 1, progress: progress, eta: progress == nil ? nil : 12, failure: failure, guardLatency: 0.2)
    }

    func visible(_ line: String) -> String { line.replacing(/\u{1B}\[[0-9;]*m/, with: "") }

    @Test func aFullBenchFitsEightyByTwentyFour() {
        var rows = (1...9).map { row(String($0), .passed) }
        rows.append(row("A", .failed, failure: JobFailure(code: "DFU-WRITE-STALL", message: String(repeating: "a very long reason ", count: 10))))
        rows.append(row("B", .flashing, progress: .init(done: 300_000, total: 600_000)))
        rows.append(row("C", .waitingForScan))
        rows += (1...20).map { row("Z\($0)", .identifying) }
        let view = BenchView(rows: rows, passed: 9, failed: 1, perHour: 312, prompts: (1...5).map { "prompt \($0)" }, elapsed: 95)
        let lines = BenchScreen(title: "station line1-bench1").lines(view)
        #expect(lines.count <= 24)
        for line in lines { #expect(visible(line).count <= 80, "\(visible(line))") }
        let text = lines.map(visible).joined(separator: "\n")
        #expect(text.contains("FAIL [DFU-WRITE-STALL]"), "the code stays visible")
        #expect(text.contains("[######------] 292K/585K 12s"))
        #expect(text.contains("WAITING FOR SCAN") && text.contains("more") && text.contains("passed 9  failed 1  312/hour"))
        #expect(lines.joined().contains("\u{1B}[1;32mPASS"), "PASS in green")
        let plain = BenchScreen(title: "t", color: false).lines(view).joined()
        #expect(!plain.contains("\u{1B}"))
    }

    @Test func plainModePrintsEachChangeOnce() {
        var log = PlainBenchLog()
        let first = BenchView(rows: [row("1", .identifying)], passed: 0, failed: 0, perHour: 0, prompts: ["scan it"], elapsed: 1)
        #expect(log.lines(first) == ["1 boron e00fce68ae40e8a1f5b40001 P0AAAAAAAAAAAA1: identifying", "> scan it"])
        #expect(log.lines(first).isEmpty)
        let second = BenchView(rows: [row("1", .passed)], passed: 1, failed: 0, perHour: 0, prompts: ["scan it", "1: PASS"], elapsed: 2)
        #expect(log.lines(second) == ["1 boron e00fce68ae40e8a1f5b40001 P0AAAAAAAAAAAA1: PASS", "> 1: PASS"])
    }
}
