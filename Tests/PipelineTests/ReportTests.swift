import Foundation
import StationReports
@testable import StationStore
import TestSupport
import Testing

/// The provisioning log (store v2) and the line report built from it.
@Suite struct ReportTests {
    func temporaryStore() throws -> StationStore {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("report-\(UUID().uuidString)")
        return try StationStore(path: folder.appendingPathComponent("station.sqlite").path)
    }

    func record(_ device: String, attempt: Int = 1, station: String = "bench-1", passed: Bool, code: String? = nil, at minute: Double,
                operatorName: String = "ana") -> ProvisioningRecord {
        let start = Date(timeIntervalSince1970: 1_800_000_000 + minute * 60)
        return ProvisioningRecord(
            deviceID: device, attempt: attempt, stationID: station, line: "line-a", operatorName: operatorName, startedAt: start,
            finishedAt: start.addingTimeInterval(40), passed: passed, failureCode: code, failureMessage: code.map { "because \($0), \"quoted\"" },
            platform: "boron", serialNumber: "P0" + device.suffix(13).uppercased(), iccid: "89014103211118510720",
            steps: [.init(step: "identifying", at: 0), .init(step: passed ? "passed" : "failed", at: 40)],
            modulesBefore: [.init(function: "bootloader", index: 0, version: 3100, valid: true)],
            modulesAfter: [.init(function: "systemPart", index: 1, version: 6200, valid: true)],
            written: [.init(file: "demo-boron-system-part1@6.2.0.bin", sha256: String(repeating: "ab", count: 32), bytes: 65_536, action: "written", verified: true)])
    }

    @Test func recordsRoundTripWithFiltersAndTheImportState() throws {
        let store = try temporaryStore()
        try store.record(record("e00f00000000000000000001", passed: true, at: 0))
        try store.record(record("e00f00000000000000000002", passed: false, code: "DFU-WRITE-STALL", at: 5, operatorName: "bo"))
        // Recording the same attempt again (a restart) replaces it.
        try store.record(record("e00f00000000000000000001", passed: true, at: 0))
        try store.enqueue(DeviceRecord(deviceID: "e00f00000000000000000001", stationID: "bench-1"), importSIM: true)
        let all = try store.records()
        #expect(all.count == 2)
        #expect(all[0] == record("e00f00000000000000000001", passed: true, at: 0).with(importOutcome: "pending"))
        #expect(all[1].importOutcome == nil && all[1].failureCode == "DFU-WRITE-STALL")
        #expect(try store.records(RecordFilter(operatorName: "bo")).map(\.deviceID) == ["e00f00000000000000000002"])
        #expect(try store.records(RecordFilter(since: Date(timeIntervalSince1970: 1_800_000_000 + 120))).count == 1)
    }

    @Test func jobSnapshotsAreSavedPerStation() throws {
        let store = try temporaryStore()
        try store.saveJob(deviceID: "a", stationID: "s1", step: "flashing", snapshot: Data("{\"x\":1}".utf8))
        try store.saveJob(deviceID: "a", stationID: "s1", step: "passed", snapshot: Data("{\"x\":2}".utf8))
        try store.saveJob(deviceID: "b", stationID: "s2", step: "identifying", snapshot: Data("{}".utf8))
        #expect(try store.jobs(stationID: "s1") == [Data("{\"x\":2}".utf8)])
    }

    @Test func theEventLogIsAppendOnly() throws {
        let store = try temporaryStore()
        try store.appendEvent(stationID: "s1", deviceID: "a", kind: "arrived", detail: "{\"port\":\"1-1\"}")
        try store.appendEvent(stationID: "s1", kind: "scan", detail: "P0AAA")
        #expect(try store.events().map(\.kind) == ["arrived", "scan"])
        #expect(throws: StoreError.self) { try store.tamperWithEventLogForTest() }
        #expect(try store.events().count == 2)
    }

    @Test func yieldFirstPassYieldAndFailuresByCode() throws {
        // Device 1 passes first time; 2 fails then passes; 3 fails twice; 4 fails once.
        let records = [
            record("d1", passed: true, at: 0),
            record("d2", passed: false, code: "PAIR-MISMATCH", at: 1), record("d2", attempt: 2, passed: true, at: 2),
            record("d3", passed: false, code: "DFU-WRITE-STALL", at: 3), record("d3", attempt: 2, passed: false, code: "DFU-WRITE-STALL", at: 4),
            record("d4", passed: false, code: "PAIR-MISMATCH", at: 5),
        ]
        let report = LineReport(records: records)
        #expect(report.devices == 4 && report.attempts == 6 && report.passed == 2 && report.failed == 2)
        #expect(report.firstPassYield == 0.25 && report.yield == 0.5)
        #expect(report.failuresByCode == ["PAIR-MISMATCH": 2, "DFU-WRITE-STALL": 2])
        #expect(report.pareto.map(\.count) == [2, 2] && report.pareto.last?.cumulative == 1)
        #expect(report.trace("D3").map(\.attempt) == [1, 2])
        // Two passed over a span of 5 min 40 s.
        #expect(abs(report.throughputPerHour - 2 / (340.0 / 3600)) < 0.001)
        let json = try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as! [String: Any]
        #expect(json["devices"] as? Int == 4 && json["attempts"] as? Int == 6 && json["passed"] as? Int == 2 && json["failed"] as? Int == 2)
        #expect(json["firstPassYield"] as? Double == 0.25)
        #expect((json["failuresByCode"] as? [String: Int]) == ["PAIR-MISMATCH": 2, "DFU-WRITE-STALL": 2])
        #expect((json["records"] as? [Any])?.count == 6)
    }

    /// Protected units (Device Protection, refused with PLAN-PROTECTED or GUARD-PROTECTED)
    /// are not failures of the bench: counted apart, out of the yields, the Pareto and the
    /// buckets' failures, shown as PROTECTED; a unit back from rework that passes counts as a
    /// pass. The store keeps each record's protection state.
    @Test func protectedUnitsAreCountedApartFromFailures() throws {
        func protected(_ r: ProvisioningRecord, _ state: String) -> ProvisioningRecord { var r = r; r.protection = state; return r }
        let records = [
            record("d1", passed: true, at: 0),
            record("d2", passed: false, code: "DFU-WRITE-STALL", at: 1),
            protected(record("d3", passed: false, code: "PLAN-PROTECTED", at: 2), "protected"),
            protected(record("d4", passed: false, code: "GUARD-PROTECTED", at: 3), "protected"),
            // Refused in Service Mode, then passed where the line allows it.
            protected(record("d5", passed: false, code: "PLAN-PROTECTED", at: 4), "service"), protected(record("d5", attempt: 2, passed: true, at: 5), "service"),
        ]
        let store = try temporaryStore()
        for r in records { try store.record(r) }
        let stored = try store.records()
        #expect(stored.map(\.protection) == [nil, nil, "protected", "protected", "service", "service"])
        let report = LineReport(records: stored)
        #expect(report.devices == 5 && report.passed == 2 && report.failed == 1 && report.protected == 2)
        // Yields over the three units the bench could make: d1 first time, d5 in the end.
        #expect(report.firstPassYield == 1.0 / 3 && report.yield == 2.0 / 3)
        #expect(report.failuresByCode == ["DFU-WRITE-STALL": 1] && report.pareto.map(\.code) == ["DFU-WRITE-STALL"])
        #expect(report.buckets.reduce(0) { $0 + $1.failed } == 1)
        let group = try #require(report.breakdowns.platform.first)
        #expect(group.attempts == 6 && group.passed == 2 && group.failed == 1 && group.protected == 3 && group.passRate == 2.0 / 3)
        let json = try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as! [String: Any]
        #expect(json["protected"] as? Int == 2 && json["failed"] as? Int == 1)
        let rows = report.csv().split(separator: "\r\n").map(String.init)
        #expect(rows[0].hasSuffix(",import,protection"))
        #expect(rows.filter { $0.contains(",PROTECTED,") }.count == 3 && rows.filter { $0.contains(",FAIL,") }.count == 1)
        let html = report.html()
        #expect(html.contains("<td class=\"protected\">2</td>") && html.contains("PROTECTED PLAN-PROTECTED") && html.contains("flashed in Service Mode"))
        // Only protected units: no yield to speak of, and no crash.
        let only = LineReport(records: [records[2]])
        #expect(only.protected == 1 && only.failed == 0 && only.yield == 0 && only.buckets.isEmpty)
    }

    /// The three documents agree, read by a parser that is not ours (Python's csv and json):
    /// totals, one CSV row per attempt, Device OS before and after, the import column, the
    /// failure meanings, the breakdowns and the 15-minute buckets.
    @Test func csvJSONAndHTMLAgree() async throws {
        var records = [
            record("d1", passed: true, at: 0),
            record("d2", passed: false, code: "PAIR-MISMATCH", at: 1), record("d2", attempt: 2, station: "bench-2", passed: true, at: 20, operatorName: "bo"),
            record("d3", passed: false, code: "DFU-WRITE-STALL", at: 50),
        ]
        for index in records.indices {
            records[index].deviceOSVersion = "5.9.0"
            records[index].deviceOSAfter = records[index].passed ? "6.2.0" : nil
            if !records[index].passed { records[index].written = [] }
            if records[index].passed { records[index].importOutcome = "done" }
        }
        records[1].importOutcome = "done"  // the device's import, read beside its failed first attempt
        let report = LineReport(records: records, explain: { code in code == "PAIR-MISMATCH" ? FailureExplanation(meaning: "The sticker is another device's.", next: "find the right sticker") : nil })
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("agree-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try report.csv().write(to: folder.appendingPathComponent("r.csv"), atomically: true, encoding: .utf8)
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        python.arguments = ["-c", "import csv, json, sys; print(json.dumps(list(csv.DictReader(open(sys.argv[1], newline='')))))", folder.appendingPathComponent("r.csv").path]
        let out = Pipe()
        python.standardOutput = out
        try python.run()
        let data = try await offThePool {
            let data = out.fileHandleForReading.readDataToEndOfFile()
            python.waitUntilExit()
            return data
        }
        let rows = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: String]])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.json().utf8)) as? [String: Any])
        let jsonRecords = try #require(json["records"] as? [[String: Any]])
        // Totals.
        #expect(rows.count == report.attempts && jsonRecords.count == report.attempts && json["attempts"] as? Int == 4)
        #expect(rows.filter { $0["result"] == "PASS" }.count == 2 && json["passed"] as? Int == report.passed && report.passed == 2)
        let html = report.html()
        #expect(html.contains("<tr><td>\(report.devices)</td><td>\(report.attempts)</td><td class=\"pass\">\(report.passed)</td><td class=\"fail\">\(report.failed)</td>"))
        // Per attempt: the same Device OS before and after, import and failure in all three.
        for (row, object) in zip(rows, jsonRecords) {
            #expect(row["device_id"] == object["deviceID"] as? String && row["attempt"] == (object["attempt"] as? Int).map(String.init))
            #expect(row["device_os_before"] == "5.9.0" && object["deviceOSBefore"] as? String == "5.9.0")
            #expect(row["device_os_after"] == (object["deviceOSAfter"] as? String ?? ""))
            #expect(row["import"] == object["importState"] as? String)
            if row["result"] == "FAIL" {
                #expect(row["written"] == "nothing written" && row["import"] == "not queued", "\(row)")
            }
        }
        #expect(rows[1]["failure_meaning"] == "The sticker is another device's." && rows[1]["next_step"] == "find the right sticker")
        #expect(jsonRecords[1]["failureMeaning"] as? String == "The sticker is another device's.")
        #expect(html.contains("6.2.0") && html.contains("The sticker is another device's."))
        // Breakdowns add up to the attempts; by station: bench-1 3, bench-2 1.
        let breakdowns = try #require(json["breakdowns"] as? [String: [[String: Any]]])
        for (name, groups) in breakdowns { #expect(groups.map { $0["attempts"] as? Int ?? 0 }.reduce(0, +) == 4, "\(name)") }
        #expect(report.breakdowns.station.map(\.key) == ["bench-1", "bench-2"] && report.breakdowns.station.map(\.attempts) == [3, 1])
        #expect(report.breakdowns.operator.first { $0.key == "bo" }?.passed == 1)
        #expect(html.contains("By station") && html.contains("By operator") && html.contains("By platform") && html.contains("By Device OS"))
        // 15-minute buckets from the first to the last, the empty one between included.
        let buckets = try #require(json["buckets"] as? [[String: Any]])
        #expect(buckets.count == 4 && report.buckets.map(\.passed) == [1, 1, 0, 0] && report.buckets.map(\.failed) == [1, 0, 0, 1], "\(report.buckets)")
        // Every trace is a timeline on the page (no collapsed <details>); human step names.
        #expect(html.components(separatedBy: "<svg class=\"timeline\"").count - 1 == 4)
        #expect(!html.contains("<details") && html.contains("@media print"))
        #expect(html.contains(">Identify<") && !html.contains(">identifying<") && html.contains("Device OS 1 v6200"))
    }

    @Test func severalStoresMergeWithoutCountingAnAttemptTwice() throws {
        let a = record("d1", station: "bench-1", passed: true, at: 0)
        let b = record("d2", station: "bench-2", passed: false, code: "X", at: 1)
        let report = LineReport(records: [a, b, a])
        #expect(report.attempts == 2 && report.stations == ["bench-1", "bench-2"])
    }

    @Test func csvQuotesAndHTMLIsSelfContained() throws {
        let report = LineReport(records: [record("d1", passed: true, at: 0), record("d2", passed: false, code: "DFU-WRITE-STALL", at: 1)])
        let csv = report.csv()
        #expect(csv.split(separator: "\r\n").count == 3)
        #expect(csv.contains("\"because DFU-WRITE-STALL, \"\"quoted\"\"\""))
        let html = report.html()
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("<svg") && html.contains("DFU-WRITE-STALL"))
        for outside in ["http:", "https:", "src=", "url(", "@import", "<script", "<link"] {
            #expect(!html.contains(outside), "\(outside)")
        }
        // Links only within the page (the device table to its trace).
        #expect(html.matches(of: /href="[^#]/).isEmpty)
        #expect(html.contains("href=\"#trace-d2\"") && html.contains("id=\"trace-d2\""))
        #expect(html.contains("default-src 'none'"))
    }
}

extension ProvisioningRecord {
    func with(importOutcome: String?) -> ProvisioningRecord {
        var copy = self
        copy.importOutcome = importOutcome
        return copy
    }
}

extension StationStore {
    /// What a careless script might try: change or delete a logged event.
    func tamperWithEventLogForTest() throws(StoreError) {
        try write { db in try db.execute(sql: "UPDATE event SET kind = 'edited'") }
    }
}
