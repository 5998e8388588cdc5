import Foundation
import StationStore
import TestSupport
import Testing

/// `station line migrate|sync|status` as a technician or a QA lead types them, against a real
/// throwaway PostgreSQL server: the URL's password refused, migrations from three processes
/// at once, a sync killed mid-batch and run again, the status JSON's shape.
@Suite(.serialized) struct LineBinaryTests {
    static func store(records: Int, station: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("line-cli-\(UUID().uuidString)/station.sqlite").path
        let store = try StationStore(path: path)
        for index in 0..<records {
            let start = Date(timeIntervalSince1970: 1_800_000_000 + Double(index) * 20)
            let passed = index % 3 != 0
            try store.record(ProvisioningRecord(deviceID: "\(station)-\(index)", attempt: 1, stationID: station, line: "line-a", startedAt: start,
                                                finishedAt: start.addingTimeInterval(15), passed: passed, failureCode: passed ? nil : "PAIR-MISMATCH",
                                                platform: "boron", mobileSecret: "WBPYG6CPLRCFKXQ"))
            try store.appendEvent(stationID: station, deviceID: "\(station)-\(index)", kind: passed ? "pass" : "fail", at: start)
        }
        return path
    }

    @Test func aPasswordInTheURLIsRefusedAndNeverEchoed() async throws {
        let run = try await StationBinaryTests.run(["line", "status", "--database", "postgresql://station:hunter2@127.0.0.1/line"])
        #expect(run.status == 64 && run.stderr.contains("LINE-PASSWORD-IN-URL"), "\(run.stderr)")
        #expect(!run.stderr.contains("hunter2") && !run.stdout.contains("hunter2"))
        let plain = try await StationBinaryTests.run(["line", "status", "--database", "postgresql://station@192.0.2.7/line?sslmode=disable"])
        #expect(plain.status == 64 && plain.stderr.contains("LINE-TLS-REQUIRED"), "\(plain.stderr)")
    }

    @Test func threeMigratingProcessesAKilledSyncAndTheStatus() async throws {
        let server = try await ThrowawayPostgres.start()
        defer { Task { await server.destroy() } }
        let runs = try await withThrowingTaskGroup(of: StationBinaryTests.Run.self) { group in
            for _ in 0..<3 { group.addTask { try await StationBinaryTests.run(["line", "migrate", "--database", server.url]) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(runs.allSatisfy { $0.status == 0 }, "\(runs.map(\.stderr))")
        #expect(runs.filter { $0.stdout.contains("applied migration(s) 1, 2") }.count == 1, "\(runs.map(\.stdout))")
        #expect(try await server.psql("SELECT count(*) FROM line_schema") == "2")

        let path = try Self.store(records: 3000, station: "bench-k")
        // Killed mid-run: whatever batch was open rolls back.
        let child = AsyncProcess(try StationBinaryTests.stationPath(), ["line", "sync", "--store", path, "--database", server.url])
        try child.run()
        try await Task.sleep(for: .milliseconds(700))
        kill(child.process.processIdentifier, SIGKILL)
        _ = await child.exit()
        let partial = Int(try await server.psql("SELECT count(*) FROM line_attempt")) ?? -1
        let again = try await StationBinaryTests.run(["line", "sync", "--store", path, "--database", server.url])
        #expect(again.status == 0 && again.stdout.contains("bench-k: shipped"), "\(again.stderr)")
        #expect(try await server.psql("SELECT count(*) FROM line_attempt") == "3000", "after a kill at \(partial) rows")
        #expect(try await server.psql("SELECT count(*) FROM line_event") == "3000")

        let status = try await StationBinaryTests.run(["line", "status", "--database", server.url, "--json"])
        #expect(status.status == 0, "\(status.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        let stations = try #require(json["stations"] as? [[String: Any]])
        #expect(stations.count == 1)
        let station = try #require(stations.first)
        #expect(station["id"] as? String == "bench-k" && station["line"] as? String == "line-a")
        #expect(station["devices"] as? Int == 3000 && station["passed"] as? Int == 2000 && station["failed"] as? Int == 1000)
        #expect(abs((station["firstPassYield"] as? Double ?? 0) - 2.0 / 3) < 1e-9 && station["replicationLagSeconds"] as? Double == 0)
        #expect((station["lastContact"] as? String).flatMap { ISO8601DateFormatter().date(from: $0) } != nil, "\(station)")
    }

    /// The issue's acceptance, as written: two demos at once replicating into one line
    /// database, a third with the database down (it still provisions and exits as always,
    /// saying the line is unreachable), then `station line sync` of its store: the status
    /// lists three stations of 6 devices, 4 passed and 2 failed each.
    @Test func threeDemoStationsOnOneLine() async throws {
        let server = try await ThrowawayPostgres.start()
        defer { Task { await server.destroy() } }
        #expect(try await StationBinaryTests.run(["line", "migrate", "--database", server.url]).status == 0)
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("line-demos-\(UUID().uuidString)")
        func demo(_ id: String) async throws -> StationBinaryTests.Run {
            try await StationBinaryTests.run(["demo", "--plain", "--station-id", id, "--line-database", server.url, "--out", root.appendingPathComponent(id).path])
        }
        let both = try await withThrowingTaskGroup(of: StationBinaryTests.Run.self) { group in
            for id in ["bench-a", "bench-b"] { group.addTask { try await demo(id) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        for run in both {
            #expect(run.status == 0 && run.stdout.contains("demo: PASS"), "\(run.stdout.suffix(600)) \(run.stderr)")
            #expect(run.stdout.contains("line: bench-") && run.stdout.contains("shipped"), "\(run.stdout.suffix(400))")
        }
        try await server.stop()
        let offline = try await demo("bench-c")
        #expect(offline.status == 0 && offline.stdout.contains("demo: PASS"), "\(offline.stdout.suffix(600))")
        #expect(offline.stdout.contains("line: unreachable") && offline.stdout.contains("station line sync --store"), "\(offline.stdout.suffix(600))")
        try await server.begin()
        let sync = try await StationBinaryTests.run(["line", "sync", "--store", root.appendingPathComponent("bench-c/station.sqlite").path, "--database", server.url])
        #expect(sync.status == 0, "\(sync.stderr)")
        let status = try await StationBinaryTests.run(["line", "status", "--database", server.url, "--json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
        let stations = try #require(json["stations"] as? [[String: Any]])
        #expect(stations.compactMap { $0["id"] as? String } == ["bench-a", "bench-b", "bench-c"], "\(stations)")
        for station in stations {
            #expect(station["devices"] as? Int == 6 && station["passed"] as? Int == 4 && station["failed"] as? Int == 2, "\(station)")
        }
    }

    /// The benchmark at a small size: it starts its own server, takes it down and back up
    /// mid-run, and checks both databases against the stores itself (a lost or doubled row
    /// fails it); its figures are there and consistent.
    @Test func theLineDatabaseBenchmarkRunsSmallAndChecksItself() async throws {
        let run = try await StationBinaryTests.run(["benchmark", "line-database", "--stations", "2", "--devices", "60", "--rate", "30", "--interval", "0.2",
                                                    "--outage", "0.5", "--outage-after", "0.5", "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stdout)")
        #expect(json["verified"] as? Bool == true && json["stations"] as? Int == 2 && json["devicesPerStation"] as? Int == 60)
        let running = try #require(json["running"] as? [String: Any]), outage = try #require(json["outage"] as? [String: Any])
        let bulk = try #require(json["bulk"] as? [String: Any])
        // 60 devices: 54 passed (14 changes each: 11 events, attempt, device, import), 6 failed (12).
        #expect(running["changes"] as? Int == 2 * (54 * 14 + 6 * 12) && bulk["changes"] as? Int == running["changes"] as? Int)
        let p50 = running["lagP50Seconds"] as? Double ?? -1, p95 = running["lagP95Seconds"] as? Double ?? -1
        #expect(p50 >= 0 && p95 >= p50 && (running["lagSamples"] as? Int ?? 0) > 0, "\(running)")
        #expect((outage["backlogChanges"] as? Int ?? 0) > 0 && (outage["catchUpSeconds"] as? Double ?? 0) > 0, "\(outage)")
        #expect((running["failedPasses"] as? Int ?? 0) > 0, "a pass ran into the outage")
        #expect((bulk["rowsPerSecond"] as? Double ?? 0) > 0)

        let refused = try await StationBinaryTests.run(["benchmark", "line-database", "--devices", "10", "--rate", "10", "--outage", "30"])
        #expect(refused.status == 64 && refused.stderr.contains("the outage must end while the stations still record"), "\(refused.stderr)")
    }

    /// The dashboard benchmark at a small size: its generator fills the line, every page
    /// answers as it should (a wrong status fails the run), and its figures are there.
    @Test func theDashboardBenchmarkRunsSmall() async throws {
        let run = try await StationBinaryTests.run(["benchmark", "dashboard", "--attempts", "2000", "--requests", "16", "--json"])
        #expect(run.status == 0, "\(run.stderr.suffix(1200))")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any], "\(run.stdout)")
        #expect(json["attempts"] as? Int == 2000)
        let figures = try #require(json["figures"] as? [[String: Any]])
        #expect(figures.map { "\($0["page"] ?? "") \($0["clients"] ?? "")" } == ["/ 1", "/ 8", "/devices/ID 1", "/devices/ID 8", "search 1", "search 8"])
        #expect(figures.allSatisfy { ($0["p95Milliseconds"] as? Double ?? -1) >= ($0["p50Milliseconds"] as? Double ?? 0) && ($0["requests"] as? Int ?? 0) == 16 })
    }
}
