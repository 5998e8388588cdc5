import ArgumentParser
import Foundation
import PostgresLine
import StationConfig
import StationStore
import ThrowawayPostgres

/// `station benchmark line-database`: several stations record devices at once and replicate
/// into one PostgreSQL server on this machine (a throwaway one, `fsync` on), as `station run`
/// does: each station's store written as its bench would write it, and a background pass every
/// `--interval` that connects, ships what the line lacks, and disconnects. Part way through,
/// the server is stopped as a crash would stop it, for `--outage` seconds, while the stations
/// keep recording. Then the stores are shipped once more, all at once and from nothing, into a
/// second database: bulk throughput. Each change's lag is from its write in the station's
/// store to the commit of the batch that carried it. Both databases are checked against the
/// stores at the end (every row once); a difference fails the benchmark.
struct LineDatabaseBenchmarkCommand: AsyncParsableCommand, JSONOutputCommand {
    var printsJSON: Bool { json }
    static let configuration = CommandConfiguration(
        commandName: "line-database",
        abstract: "Stations replicating at once into one PostgreSQL server: rows/s, lag p50/p95, catch-up after an outage.",
        discussion: """
            Needs Debian's postgresql package (initdb); the server is a throwaway one in a temporary folder, removed at the end. \
            Each device is what a bench writes for it: its attempt, 11 events, and (when it passed) its device row and its import.
            """)

    @Option(name: .long, help: "Stations replicating at once.") var stations = 4
    @Option(name: .long, help: "Devices each station records.") var devices = 2500
    @Option(name: .long, help: "Devices each station records per second.") var rate: Double = 40
    @Option(name: .long, help: "Seconds between a station's replication passes (station run: 5).") var interval: Double = 1
    @Option(name: .long, help: "Seconds the server is down.") var outage: Double = 30
    @Option(name: .long, help: "Seconds into the run the server goes down.") var outageAfter: Double = 10
    @Flag(name: .long, help: "Print JSON only.") var json = false

    func validate() throws {
        guard stations >= 1, devices >= 1 else { throw ValidationError("--stations and --devices must be at least 1") }
        guard rate > 0, interval > 0, outage >= 0, outageAfter >= 0 else { throw ValidationError("--rate and --interval must be above 0; --outage and --outage-after at least 0") }
        guard outageAfter + outage < Double(devices) / rate else {
            throw ValidationError("the outage must end while the stations still record: --outage-after + --outage (\(outageAfter + outage) s) must be below --devices / --rate (\(Double(devices) / rate) s)")
        }
    }

    func run() async throws {
        let result: LineDatabaseBenchmark.Result
        do {
            result = try await LineDatabaseBenchmark(stations: stations, devices: devices, rate: rate, interval: interval, outage: outage, outageAfter: outageAfter).run()
        } catch let error as ThrowawayPostgres.Unavailable {
            throw CommandFailure(.unavailable, "BENCHMARK-NO-POSTGRES", error.description)
        }
        if !json {
            for line in result.lines { print(line) }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        print(String(decoding: try encoder.encode(result), as: UTF8.self))
    }
}

/// The benchmark itself (the command parses and prints).
struct LineDatabaseBenchmark {
    let stations: Int
    let devices: Int
    let rate: Double
    let interval: Double
    let outage: Double
    let outageAfter: Double

    /// Events a bench writes for each device: arrived, guard, scan, six steps, result, departed.
    static let eventKinds = ["arrived", "guard", "scan", "step", "step", "step", "step", "step", "step", "result", "departed"]

    struct Result: Codable {
        struct Running: Codable {
            var devices: Int
            var changes: Int
            var seconds: Double
            /// Changes the stations wrote per second, all together.
            var writtenPerSecond: Double
            /// Lag of the devices recorded while the server was up (not between the outage's
            /// start, less one interval, and the end of its catch-up).
            var lagP50Seconds: Double
            var lagP95Seconds: Double
            var lagMaxSeconds: Double
            var lagSamples: Int
            /// Passes that failed (the server down), all stations.
            var failedPasses: Int
        }
        struct Outage: Codable {
            var seconds: Double
            /// Changes recorded and not shipped when the server came back, all stations.
            var backlogChanges: Int
            /// From the server's restart until every station had shipped what it recorded
            /// before the restart.
            var catchUpSeconds: Double
            var catchUpRowsPerSecond: Double
            /// Catch-up rows per second over the rate the stations write them.
            var catchUpOverWriteRatio: Double
        }
        struct Bulk: Codable {
            var changes: Int
            var seconds: Double
            var rowsPerSecond: Double
            var devicesPerSecond: Double
        }
        var stations: Int
        var devicesPerStation: Int
        var postgres: String
        var running: Running
        var outage: Outage
        var bulk: Bulk
        /// Both databases hold every row of every store once.
        var verified: Bool
        var lines: [String] {
            func f(_ value: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }
            return [
                "line database: \(stations) stations x \(devicesPerStation) devices into one PostgreSQL \(postgres) server on this machine (fsync on)",
                "running: \(running.devices) devices, \(running.changes) changes in \(f(running.seconds, 1)) s (\(f(running.writtenPerSecond, 0)) changes/s written); lag p50 \(f(running.lagP50Seconds)) s, p95 \(f(running.lagP95Seconds)) s, max \(f(running.lagMaxSeconds)) s over \(running.lagSamples) devices; \(running.failedPasses) passes failed while the server was down",
                "outage: server down \(f(outage.seconds, 1)) s; backlog \(outage.backlogChanges) changes; caught up \(f(outage.catchUpSeconds)) s after the restart (\(f(outage.catchUpRowsPerSecond, 0)) rows/s, \(f(outage.catchUpOverWriteRatio, 1))x the rate the stations write)",
                "bulk: \(stations) stores, \(bulk.changes) changes from nothing at once in \(f(bulk.seconds)) s: \(f(bulk.rowsPerSecond, 0)) rows/s, \(f(bulk.devicesPerSecond, 0)) devices/s",
                "verified: " + (verified ? "both databases hold every row of every store, once" : "NOT verified"),
            ]
        }
    }

    /// What one station did: each device's last change and when it was written; each batch's
    /// commit (the store's last change the line then held) and when.
    final class Trace: @unchecked Sendable {
        private let lock = NSLock()
        private var writesStore: [(seq: Int64, at: Date)] = []
        private var commitsStore: [(upTo: Int64, at: Date)] = []
        private var failuresStore = 0
        private var doneStore = false

        func wrote(_ seq: Int64, at: Date) { lock.withLock { writesStore.append((seq, at)) } }
        func committed(_ upTo: Int64, at: Date) { lock.withLock { commitsStore.append((upTo, at)) } }
        func failed() { lock.withLock { failuresStore += 1 } }
        func finish() { lock.withLock { doneStore = true } }
        var writes: [(seq: Int64, at: Date)] { lock.withLock { writesStore } }
        var commits: [(upTo: Int64, at: Date)] { lock.withLock { commitsStore } }
        var failures: Int { lock.withLock { failuresStore } }
        var done: Bool { lock.withLock { doneStore } }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    func run() async throws -> Result {
        let server = try await ThrowawayPostgres.start(durable: true)
        do {
            let result = try await run(on: server)
            await server.destroy()
            return result
        } catch {
            await server.destroy()
            throw error
        }
    }

    func run(on server: ThrowawayPostgres) async throws -> Result {
        let url = try LineDatabaseURL.parse(server.url)
        _ = try await LineDatabase.with(url, password: nil) { database throws(LineError) in try await database.migrate() }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bench-line-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let names = (1...stations).map { String(format: "bench-%02d", $0) }
        let stores = try names.map { try StationStore(path: folder.appendingPathComponent("\($0).sqlite").path) }
        let traces = names.map { _ in Trace() }

        // The run: each station writes on a thread of its own (blocking SQLite writes) and
        // replicates in the background; the server goes down part way through.
        let started = Date()
        for (index, name) in names.enumerated() {
            let store = stores[index], trace = traces[index], devices = self.devices, rate = self.rate
            Thread.detachNewThread { Self.record(store, station: name, number: index, devices: devices, rate: rate, from: started, trace: trace) }
        }
        let outageWindow = Task { () throws -> (down: Date, up: Date, backlog: [Int64]) in
            try await Task.sleep(for: .seconds(outageAfter))
            let down = Date()
            try await server.stop(immediate: true)
            try await Task.sleep(for: .seconds(outage))
            try await server.begin()
            let up = Date()
            return (down, up, try stores.map { try $0.lineLastSequence() })
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, name) in names.enumerated() {
                let store = stores[index], trace = traces[index], interval = self.interval
                group.addTask { try await Self.replicate(store, station: name, url: url, every: interval, trace: trace) }
            }
            try await group.waitForAll()
        }
        let running = Date().timeIntervalSince(started)
        let window = try await outageWindow.value

        // Lags, and the catch-up.
        var lags: [Double] = []
        var catchUpEnd = window.up, backlog = 0
        for (index, trace) in traces.enumerated() {
            let commits = trace.commits
            guard let caughtUp = commits.first(where: { $0.upTo >= window.backlog[index] && $0.at >= window.up }) else {
                throw Failure(description: "\(names[index]) never shipped what it recorded before the restart")
            }
            catchUpEnd = max(catchUpEnd, caughtUp.at)
            let shippedAtRestart = commits.last(where: { $0.at <= window.up })?.upTo ?? 0
            backlog += Int(window.backlog[index] - shippedAtRestart)
        }
        let excluded = window.down.addingTimeInterval(-interval)...catchUpEnd
        for trace in traces {
            let commits = trace.commits
            var next = 0
            for write in trace.writes {
                while next < commits.count && commits[next].upTo < write.seq { next += 1 }
                guard next < commits.count else { throw Failure(description: "a change was never shipped (sequence \(write.seq))") }
                if !excluded.contains(write.at) { lags.append(max(0, commits[next].at.timeIntervalSince(write.at))) }
            }
        }
        lags.sort()
        func percentile(_ p: Double) -> Double { lags.isEmpty ? 0 : lags[min(lags.count - 1, Int((p * Double(lags.count)).rounded(.up)) - 1)] }
        let changes = try stores.reduce(0) { $0 + Int(try $1.lineLastSequence()) }
        try await verify(server, database: "line", stores: stores, names: names)

        // Bulk: every store from nothing into a second database, all at once.
        try await server.createDatabase("bulk")
        let bulkURL = try LineDatabaseURL.parse(server.url(database: "bulk"))
        _ = try await LineDatabase.with(bulkURL, password: nil) { database throws(LineError) in try await database.migrate() }
        let bulkStart = Date()
        let shipped = try await withThrowingTaskGroup(of: Int.self) { group in
            for (store, name) in zip(stores, names) {
                group.addTask {
                    try await LineDatabase.with(bulkURL, password: nil) { database throws(LineError) in
                        try await LineReplicator.sync(store, into: database, station: name, line: "bench line").changes
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        let bulkSeconds = Date().timeIntervalSince(bulkStart)
        try await verify(server, database: "bulk", stores: stores, names: names)

        let writeRate = Double(changes) / running
        let catchUp = catchUpEnd.timeIntervalSince(window.up)
        let catchUpRate = catchUp > 0 ? Double(backlog) / catchUp : 0
        return Result(
            stations: stations, devicesPerStation: devices, postgres: server.version,
            running: .init(devices: stations * devices, changes: changes, seconds: running, writtenPerSecond: writeRate, lagP50Seconds: percentile(0.5),
                           lagP95Seconds: percentile(0.95), lagMaxSeconds: lags.last ?? 0, lagSamples: lags.count, failedPasses: traces.reduce(0) { $0 + $1.failures }),
            outage: .init(seconds: window.up.timeIntervalSince(window.down), backlogChanges: backlog, catchUpSeconds: catchUp,
                          catchUpRowsPerSecond: catchUpRate, catchUpOverWriteRatio: writeRate > 0 ? catchUpRate / writeRate : 0),
            bulk: .init(changes: shipped, seconds: bulkSeconds, rowsPerSecond: Double(shipped) / bulkSeconds, devicesPerSecond: Double(stations * devices) / bulkSeconds),
            verified: true)
    }

    /// One station's bench: `devices` devices at `rate` a second from `start`, each written as
    /// the station writes it (every tenth fails in its flash and is not queued).
    static func record(_ store: StationStore, station: String, number: Int, devices: Int, rate: Double, from start: Date, trace: Trace) {
        defer { trace.finish() }
        for index in 0..<devices {
            let due = start.addingTimeInterval(Double(index) / rate)
            let wait = due.timeIntervalSinceNow
            if wait > 0 { Thread.sleep(forTimeInterval: wait) }
            let id = String(format: "e00fce68%016x", UInt64(index) | (UInt64(number) << 40))
            let passed = index % 10 != 9
            let now = Date()
            do {
                for kind in eventKinds.prefix(9) {
                    try store.appendEvent(stationID: station, deviceID: id, kind: kind, detail: "{\"index\":\(index)}", at: now)
                }
                let record = ProvisioningRecord(
                    deviceID: id, attempt: 1, stationID: station, line: "bench line", operatorName: "bench", startedAt: now.addingTimeInterval(-40), finishedAt: now,
                    passed: passed, failureCode: passed ? nil : "DFU-WRITE-STALL", failureMessage: passed ? nil : "the device stalled a write", platform: "boron",
                    serialNumber: String(format: "P046AB%09d", index), iccid: "89014103211118510720", deviceOSVersion: "5.9.0", deviceOSAfter: passed ? "6.2.0" : nil,
                    steps: [.init(step: "identifying", at: 0), .init(step: "flashing", at: 8), .init(step: passed ? "passed" : "failed", at: 40)],
                    modulesAfter: [.init(function: "systemPart", index: 1, version: 6200, valid: true)],
                    written: [.init(file: "boron-system-part1@6.2.0.bin", sha256: String(repeating: "5e", count: 32), bytes: 650_000, action: "written", verified: passed)],
                    mobileSecret: "BENCHSECRET0000")
                try store.record(record, then: passed ? .enqueue(DeviceRecord(deviceID: id, serial: record.serialNumber, stationID: station, passedAt: now), destination: .product, importSIM: true) : .none)
                for kind in eventKinds.suffix(2) {
                    try store.appendEvent(stationID: station, deviceID: id, kind: kind, detail: "{\"index\":\(index)}", at: now)
                }
                trace.wrote(try store.lineLastSequence(), at: Date())
            } catch {
                // A store that cannot be written is the benchmark's failure: the verification
                // says what is missing.
                FileHandle.standardError.write(Data("benchmark: \(station) could not record device \(index): \(error)\n".utf8))
            }
        }
    }

    /// `station run`'s background replication (its pass: connect, ship what the line lacks,
    /// disconnect) every `interval`, until the station has recorded everything and the line
    /// has it.
    static func replicate(_ store: StationStore, station: String, url: LineDatabaseURL, every interval: Double, trace: Trace) async throws {
        while true {
            let finished = trace.done
            let problem = await LineReplicator.pass(store, line: LineConfig(database: url), station: station, lineName: "bench line", environment: [:],
                                                    committed: { upTo in trace.committed(upTo, at: Date()) })
            if problem != nil { trace.failed() } else if finished { return }
            try await Task.sleep(for: .seconds(interval))
        }
    }

    /// The database holds each store's rows once: attempts, events, devices and imports.
    func verify(_ server: ThrowawayPostgres, database: String, stores: [StationStore], names: [String]) async throws {
        let expected = stations * devices
        let passed = stations * (devices - devices / 10)
        let counts = try await server.psql("""
            SELECT (SELECT count(*) FROM line_attempt) || ' ' || (SELECT count(*) FROM line_event) || ' ' || (SELECT count(*) FROM line_device) || ' '
                || (SELECT count(*) FROM line_import) || ' ' || (SELECT count(DISTINCT station_id) FROM line_attempt)
            """, database: database)
        let wanted = "\(expected) \(expected * Self.eventKinds.count) \(passed) \(passed) \(stations)"
        guard counts == wanted else {
            throw Failure(description: "the \(database) database holds attempts, events, devices, imports, stations \(counts); the stores hold \(wanted)")
        }
        for (store, name) in zip(stores, names) {
            let cursor = try await server.psql("SELECT shipped_seq FROM line_cursor WHERE station_id = '\(name)'", database: database)
            guard cursor == String(try store.lineLastSequence()) else {
                throw Failure(description: "\(name)'s cursor in \(database) is \(cursor), its store's last change \(try store.lineLastSequence())")
            }
        }
    }
}
