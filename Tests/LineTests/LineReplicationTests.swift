import Foundation
import PostgresNIO
@testable import PostgresLine
import StationConfig
import StationReports
import StationStore
import TestSupport
import Testing

/// Replication into a real PostgreSQL server (a throwaway one per test): in order and
/// idempotent, nothing lost or doubled through outages, two stations at once, migrations
/// from several clients at once, TLS, and the mobile secret never shipped.
@Suite(.serialized) struct LineReplicationTests {
    static func store() throws -> StationStore {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("line-\(UUID().uuidString)")
        return try StationStore(path: folder.appendingPathComponent("station.sqlite").path)
    }

    /// Records `count` attempts of station `station` (every third one failed), each with an
    /// event, and queues the passed ones; `secret`: each sticker's mobile secret.
    static func provision(_ store: StationStore, station: String, count: Int, from first: Int = 0, secret: String = "WBPYG6CPLRCFKXQ") throws {
        for index in first..<(first + count) {
            let id = "\(station)-device-\(index)"
            let start = Date(timeIntervalSince1970: 1_800_000_000 + Double(index) * 30)
            let passed = index % 3 != 2
            let record = ProvisioningRecord(
                deviceID: id, attempt: 1, stationID: station, line: "line-a", operatorName: "ana", startedAt: start, finishedAt: start.addingTimeInterval(25),
                passed: passed, failureCode: passed ? nil : "DFU-WRITE-STALL", failureMessage: passed ? nil : "stalled", platform: "boron",
                serialNumber: "P0\(String(format: "%013d", index))", iccid: "89014103211118510720", deviceOSVersion: "5.9.0", deviceOSAfter: passed ? "6.2.0" : nil,
                steps: [.init(step: "identifying", at: 0), .init(step: passed ? "passed" : "failed", at: 25)],
                modulesAfter: [.init(function: "systemPart", index: 1, version: 6200, valid: true)],
                written: [.init(file: "demo-boron-system-part1@6.2.0.bin", sha256: String(repeating: "ab", count: 32), bytes: 65_536, action: "written", verified: true)],
                mobileSecret: secret)
            let change: StationStore.ImportChange = passed ? .enqueue(DeviceRecord(deviceID: id, serial: record.serialNumber, stationID: station, passedAt: start), destination: .product, importSIM: true) : .none
            try store.record(record, then: change)
            try store.appendEvent(stationID: station, deviceID: id, kind: passed ? "pass" : "fail", detail: "{\"attempt\":1}", at: start)
        }
    }

    static func connect(_ server: ThrowawayPostgres, _ url: String? = nil) async throws -> LineDatabase {
        try await LineDatabase.connect(try LineDatabaseURL.parse(url ?? server.url), password: nil)
    }

    /// Connects, runs `body`, closes.
    static func with<T: Sendable>(_ server: ThrowawayPostgres, _ url: String? = nil, _ body: (LineDatabase) async throws(LineError) -> T) async throws -> T {
        try await LineDatabase.with(try LineDatabaseURL.parse(url ?? server.url), password: nil, body)
    }

    @Test func aStoreShipsInOrderOnceAndNeverItsMobileSecrets() async throws {
        let server = try await ThrowawayPostgres.start()
        defer { Task { await server.destroy() } }
        let database = try await Self.connect(server)
        #expect(try await database.migrate() == [1, 2])
        #expect(try await database.migrate() == [], "idempotent")
        let store = try Self.store()
        try Self.provision(store, station: "bench-a", count: 30)
        let first = try await LineReplicator.sync(store, into: database, station: "bench-a", line: "line-a", batchSize: 25)
        let last = try store.lineLastSequence()
        #expect(first.batches >= 3 && first.upTo == last)
        // Again: nothing new to ship.
        #expect(try await LineReplicator.sync(store, into: database, station: "bench-a", line: "line-a").changes == 0)
        try Self.provision(store, station: "bench-a", count: 6, from: 30)
        let second = try await LineReplicator.sync(store, into: database, station: "bench-a", line: "line-a")
        let newest = try store.lineLastSequence()
        #expect(second.changes > 0 && second.upTo == newest)
        // psql, a client that is not ours, sees exactly the store's rows.
        #expect(try await server.psql("SELECT count(*) FROM line_attempt") == "36")
        #expect(try await server.psql("SELECT count(*) FROM line_event") == "36")
        #expect(try await server.psql("SELECT count(*) FROM line_device") == "24")
        #expect(try await server.psql("SELECT count(*) FROM line_import WHERE state = 'pending'") == "24")
        #expect(try await server.psql("SELECT detail->'written'->0->>'file' FROM line_attempt LIMIT 1") == "demo-boron-system-part1@6.2.0.bin")
        let everything = try await server.psql("SELECT string_agg(t::text, ' ') FROM (SELECT row_to_json(a) AS t FROM line_attempt a UNION ALL SELECT row_to_json(e) FROM line_event e UNION ALL SELECT row_to_json(d) FROM line_device d) x")
        #expect(!everything.isEmpty && !everything.contains("WBPYG6CPLRCFKXQ"), "the mobile secret is never shipped")
        let status = try await database.status()
        #expect(status.map(\.id) == ["bench-a"])
        #expect(status.first.map { ($0.devices, $0.passed, $0.failed, $0.line) } ?? (0, 0, 0, nil) == (36, 24, 12, "line-a"))
        #expect(status.first?.replicationLagSeconds == 0 && status.first?.lastContact != nil)
        #expect(abs((status.first?.firstPassYield ?? 0) - 24.0 / 36) < 1e-9)
        await database.close()
    }

    @Test func twoStationsReplicateAtOnce() async throws {
        let server = try await ThrowawayPostgres.start()
        defer { Task { await server.destroy() } }
        _ = try await Self.with(server) { database throws(LineError) in try await database.migrate() }
        let stores = try [Self.store(), Self.store()]
        let names = ["bench-a", "bench-b"]
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (store, name) in zip(stores, names) {
                group.addTask {
                    let database = try await Self.connect(server)
                    // Each station records and ships in rounds, both at once.
                    for round in 0..<5 {
                        try Self.provision(store, station: name, count: 40, from: round * 40)
                        _ = try await LineReplicator.sync(store, into: database, station: name, line: "line-a", batchSize: 60)
                    }
                    await database.close()
                }
            }
            try await group.waitForAll()
        }
        let status = try await Self.with(server) { database throws(LineError) in try await database.status() }
        #expect(status.map(\.id) == names)
        #expect(status.allSatisfy { $0.devices == 200 && $0.passed == 134 && $0.failed == 66 }, "\(status)")
        #expect(try await server.psql("SELECT count(*) FROM line_attempt") == "400")
    }

    /// The server stops mid-run (as a crash would) and comes back: the sync fails with
    /// LINE-UNREACHABLE meanwhile, the station keeps recording, and the next sync ships the
    /// rest: every row once.
    @Test func theDatabaseStoppedAndRestartedMidRun() async throws {
        let server = try await ThrowawayPostgres.start()
        defer { Task { await server.destroy() } }
        _ = try await Self.with(server) { database throws(LineError) in try await database.migrate() }
        let store = try Self.store()
        try Self.provision(store, station: "bench-a", count: 300)
        let database = try await Self.connect(server)
        // The server goes down as soon as the first batch is in, the station's clock an hour
        // ahead of its writes: the lag the line keeps for it is then at least an hour.
        var batches = 0
        do {
            _ = try await LineReplicator.sync(store, into: database, station: "bench-a", line: "line-a", batchSize: 20, now: { Date().addingTimeInterval(3600) },
                                              committed: { _ in
                                                  batches += 1
                                                  if batches == 1 { try? await server.stop(immediate: true) }
                                              })
            Issue.record("the sync went on with the server down")
        } catch {
            #expect(error.code == "LINE-UNREACHABLE", "\(error)")
        }
        #expect(batches == 1)
        await database.close()
        // Recorded while the line is down.
        try Self.provision(store, station: "bench-a", count: 30, from: 300)
        do {
            _ = try await Self.with(server) { database throws(LineError) in try await LineReplicator.sync(store, into: database, station: "bench-a", line: "line-a") }
            Issue.record("a sync with the server down succeeded")
        } catch let error as LineError {
            #expect(error.code == "LINE-UNREACHABLE", "\(error)")
        }
        try await server.begin()
        let again = try await Self.connect(server)
        let behind = try await again.status().first
        #expect(behind.map { $0.replicationLagSeconds >= 3600 && $0.replicationLagSeconds < 3600 + 120 } == true, "\(String(describing: behind))")
        let report = try await LineReplicator.sync(store, into: again, station: "bench-a", line: "line-a", batchSize: 50)
        let newest = try store.lineLastSequence()
        #expect(report.upTo == newest)
        #expect(try await server.psql("SELECT count(*) FROM line_attempt") == "330")
        #expect(try await again.status().first?.replicationLagSeconds == 0, "caught up")
        #expect(try await server.psql("SELECT count(*) FROM line_event") == "330")
        #expect(try await server.psql("SELECT count(*) FROM (SELECT device_id FROM line_attempt GROUP BY device_id HAVING count(*) > 1) d") == "0")
        await again.close()
    }

    @Test func migrationsFromThreeClientsAtOnceApplyOnce() async throws {
        let server = try await ThrowawayPostgres.start()
        defer { Task { await server.destroy() } }
        let applied = try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<3 { group.addTask { try await Self.with(server) { database throws(LineError) in try await database.migrate() } } }
            return try await group.reduce(into: [[Int]]()) { $0.append($1) }
        }
        #expect(applied.flatMap { $0 } == [1, 2], "\(applied)")
        #expect(try await server.psql("SELECT count(*) FROM line_schema") == "2")
    }

    @Test func aSocketURLAndASchemaThatIsMissingSaySoClearly() async throws {
        let server = try await ThrowawayPostgres.start()
        defer { Task { await server.destroy() } }
        let database = try await Self.connect(server, server.socketURL)
        do {
            _ = try await database.status()
            Issue.record("status without a schema")
        } catch {
            #expect(error.code == "LINE-SCHEMA" && error.description.contains("station line migrate"), "\(error)")
        }
        try await database.migrate()
        #expect(try await database.status().isEmpty)
        await database.close()
    }

    /// With `ssl=on` (a self-signed certificate) and only TLS accepted over TCP: `require`
    /// connects and ships; a plain connection is refused by the server.
    @Test func tlsIsUsedAndPlainIsRefused() async throws {
        let server = try await ThrowawayPostgres.start(tls: true)
        defer { Task { await server.destroy() } }
        let database = try await Self.connect(server)
        try await database.migrate()
        let store = try Self.store()
        try Self.provision(store, station: "bench-t", count: 3)
        _ = try await LineReplicator.sync(store, into: database, station: "bench-t", line: nil)
        #expect(try await server.psql("SELECT count(*) FROM line_attempt") == "3")
        #expect(try await server.psql("SELECT bool_and(ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.client_addr IS NOT NULL") == "t")
        do {
            try await Self.with(server, "postgresql://station@127.0.0.1:\(server.port)/line?sslmode=disable") { _ throws(LineError) in }
            Issue.record("a plain connection was accepted")
        } catch let error as LineError {
            #expect(error.code == "LINE-AUTH", "\(error)")
        }
        await database.close()
    }
}

/// The dashboard's sessions on the line database are read-only: the server refuses a write.
@Suite(.serialized) struct LineDashboardSessionTests {
    @Test func aViewersSessionCannotWrite() async throws {
        let server = try await ThrowawayPostgres.start()
        defer { Task { await server.destroy() } }
        let url = try LineDatabaseURL.parse(server.url)
        _ = try await LineDatabase.with(url, password: nil) { database throws(LineError) in try await database.migrate() }
        let refused: String? = try await LineDatabase.with(url, password: nil) { database async throws(LineError) in
            try await database.readOnly()
            do {
                _ = try await database.connection.query(PostgresQuery(unsafeSQL: "INSERT INTO line_station (station_id, lag_seconds) VALUES ('intruder', 0)"), logger: database.logger)
                return nil
            } catch {
                return database.failure(error).description
            }
        }
        #expect(refused?.contains("read-only") == true, "\(refused ?? "the write went through")")
        #expect(try await server.psql("SELECT count(*) FROM line_station") == "0")
    }
}

/// The line page's numbers counted by the server (`LineDashboardSource`) equal the report's
/// own (`DashboardOverview` from the same records, as `station report` makes them): a
/// differential check over retries, a device seen at two stations, protected units, a
/// failure without a code and attempts outside the range.
@Suite(.serialized) struct LineDashboardCountsTests {
    @Test func theServersCountsAreTheReports() async throws {
        let server = try await ThrowawayPostgres.start()
        defer { Task { await server.destroy() } }
        let url = try LineDatabaseURL.parse(server.url)
        _ = try await LineDatabase.with(url, password: nil) { database throws(LineError) in try await database.migrate() }
        let now = Date()
        var generator = SystemRandomNumberGenerator()
        let codes: [String?] = ["DFU-WRITE-STALL", "PAIR-MISMATCH", "PLAN-PROTECTED", nil, "GUARD-PROTECTED", "CTRL-TIMEOUT"]
        for station in ["bench-a", "bench-b", "bench-c"] {
            let store = try LineReplicationTests.store()
            for index in 0..<120 {
                // Devices shared between stations (a rework bench sees them again); 1 to 3 attempts.
                let device = String(format: "e00fce68%016x", Int.random(in: 0..<150, using: &generator))
                let attempts = Int.random(in: 1...3, using: &generator)
                for attempt in 1...attempts {
                    let finished = now.addingTimeInterval(-Double.random(in: 0..<(20 * 3600), using: &generator))
                    let passed = attempt == attempts && Bool.random(using: &generator)
                    let code = passed ? nil : codes.randomElement(using: &generator)!
                    try store.record(ProvisioningRecord(deviceID: device, attempt: attempt, stationID: station, line: "line-a", operatorName: "op-\(index % 4)",
                                                        startedAt: finished.addingTimeInterval(-30), finishedAt: finished, passed: passed, failureCode: code))
                }
            }
            _ = try await LineDatabase.with(url, password: nil) { database throws(LineError) in
                try await LineReplicator.sync(store, into: database, station: station, line: "line-a")
            }
        }
        let source = LineDashboardSource(url: url, password: nil, explain: { FailureExplanation(meaning: "meaning of \($0)", next: "next") })
        for key in ["1h", "12h", "24h"] {
            let range = DashboardRange(key, now: now)
            let served = try await source.overview(range, now: now)
            let records = try await LineDatabase.with(url, password: nil) { database throws(LineError) in
                try await database.attempts(where: "a.finished_at >= to_timestamp(\(range.since.timeIntervalSince1970)) AND a.finished_at < to_timestamp(\(range.until.timeIntervalSince1970))")
            }
            let report = DashboardOverview(records: records, range: range, now: now, explain: { FailureExplanation(meaning: "meaning of \($0)", next: "next") })
            #expect(served.totals == report.totals, "\(key): \(served.totals) against \(report.totals)")
            #expect(served.stations == report.stations, "\(key)")
            #expect(served.failures == report.failures, "\(key)")
            #expect(served.buckets == report.buckets, "\(key)")
            #expect(report.totals.attempts > 0 && report.totals.protected > 0 || key == "1h", "the data exercises the rules: \(report.totals)")
        }
    }
}
