import Foundation
import StationStore
import TestSupport
import Testing

/// `station demo`, the README's first command, run as the technician would run it.
@Suite struct DemoTests {
    @Test func theDemoPassesWithItsTwoIntendedFailures() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("demo-test-\(UUID().uuidString)")
        let demo = AsyncProcess(try StationBinaryTests.stationPath(), ["demo", "--plain", "--out", folder.path])
        try demo.run()
        #expect(await demo.exit() == 0, "the demo checks its own outcome: exit 0 means 4 PASS, the 2 intended FAILs, exact imports, nobody connected")
        let records = try StationStore(path: folder.appendingPathComponent("station.sqlite").path).records()
        #expect(records.count == 6 && records.filter(\.passed).count == 4)
        #expect(Set(records.compactMap(\.failureCode)) == ["DFU-WRITE-STALL", "PAIR-MISMATCH"])
        #expect(Set(records.compactMap(\.platform)) == ["boron", "b5som", "electron", "tracker"])
        #expect(records.filter(\.passed).allSatisfy { $0.importOutcome == "done" }, "every passed device imported")
        let html = try String(contentsOf: folder.appendingPathComponent("report.html"), encoding: .utf8)
        #expect(html.contains("PAIR-MISMATCH") && html.contains("DFU-WRITE-STALL"))
        let events = try String(contentsOf: folder.appendingPathComponent("events.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(events.contains { $0.contains("\"kind\":\"guard\"") } && events.allSatisfy { $0.hasPrefix("{") })
        // The firmware it made is pinned and verifies like a real line's.
        let verify = try await StationBinaryTests.run(["manifest", "verify", folder.appendingPathComponent("firmware/boron-6.2.0/manifest.toml").path])
        #expect(verify.status == 0, "\(verify.stdout)")
    }
}
