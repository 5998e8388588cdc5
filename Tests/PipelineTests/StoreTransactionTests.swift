import Foundation
import GRDB
@testable import StationStore
import Testing

/// Issue 15, point 3: the PASS record and its queued import were two transactions; a crash
/// between them left a passed device that was never imported. Now they are one: a failure
/// inside it leaves neither.
@Suite struct StoreTransactionTests {
    func store() throws -> StationStore {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("tx-\(UUID().uuidString)")
        return try StationStore(path: folder.appendingPathComponent("station.sqlite").path)
    }

    /// Makes every insert into the queue fail, as a crash or a full disk would at that moment.
    func breakTheQueue(_ store: StationStore) throws {
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        python.arguments = ["-c", """
            import sqlite3, sys
            db = sqlite3.connect(sys.argv[1])
            db.execute("CREATE TRIGGER broken BEFORE INSERT ON import_item BEGIN SELECT RAISE(ABORT, 'the disk is full'); END")
            db.commit()
            """, store.path]
        try python.run()
        python.waitUntilExit()
        try #require(python.terminationStatus == 0)
    }

    func passed(_ device: String) -> ProvisioningRecord {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        return ProvisioningRecord(deviceID: device, attempt: 1, stationID: "bench-1", line: nil, operatorName: nil, startedAt: start,
                                  finishedAt: start.addingTimeInterval(40), passed: true, failureCode: nil, failureMessage: nil, platform: "boron",
                                  serialNumber: "P0AAAAAAAAAAAAA", iccid: "89014103211118510720", steps: [], modulesBefore: [], modulesAfter: [], written: [])
    }

    @Test func aPassAndItsImportAreBothWrittenOrNeither() throws {
        let store = try store()
        let device = DeviceRecord(deviceID: "e00fce68ae40e8a1f5b40001", iccid: "89014103211118510720", platformID: 13, stationID: "bench-1")
        try store.record(passed(device.deviceID), then: .enqueue(device, destination: .product, importSIM: true))
        #expect(try store.records().count == 1 && store.items().map(\.deviceID) == [device.deviceID])

        let other = try self.store()
        try breakTheQueue(other)
        #expect(throws: StoreError.self) {
            try other.record(passed(device.deviceID), then: .enqueue(device, destination: .product, importSIM: true))
        }
        #expect(try other.records().isEmpty, "no PASS without its import")
        #expect(try other.items().isEmpty)
    }

    @Test func theStoreSyncsEveryCommit() throws {
        let store = try store()
        let mode = try store.read { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(mode == 2, "synchronous=FULL (2), not NORMAL (1)")
    }

    /// A viewer's store (`station line serve`): it reads what the station wrote, and SQLite
    /// refuses every write through it; a missing file is not created.
    @Test func aStoreOpenedReadOnlyReadsAndRefusesEveryWrite() throws {
        let station = try store()
        try station.record(passed("e00fce68aaaaaaaaaaaaaaaa"), then: .none)
        let viewer = try StationStore(readingOnly: station.path)
        #expect(try viewer.records().map(\.deviceID) == ["e00fce68aaaaaaaaaaaaaaaa"])
        #expect(throws: StoreError.self) { try viewer.appendEvent(stationID: "viewer", kind: "write") }
        #expect(throws: StoreError.self) { try viewer.record(self.passed("e00fce68bbbbbbbbbbbbbbbb"), then: .none) }
        #expect(try station.records().count == 1, "nothing was written through the viewer")
        let missing = station.path + ".missing"
        #expect(throws: StoreError.missing(path: missing)) { try StationStore(readingOnly: missing) }
        #expect(!FileManager.default.fileExists(atPath: missing))
    }
}
