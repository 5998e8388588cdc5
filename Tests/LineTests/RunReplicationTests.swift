import Curl
import DeviceEmulator
import EmulatedBench
import FirmwareModules
import Foundation
import ParticleDevices
import PostgresLine
import Station
import StationAgent
import StationConfig
import StationStore
import TestSupport
import Testing

/// `station run`'s background replication, end to end: the bench session `station run` runs
/// (on the emulated bench, its time 20 times faster), with the same pass `station run` wires
/// for `[line]`, against a real throwaway server that goes down and comes back mid-run. The
/// bench never waits on the line; the line ends with every record once.
@Suite(.serialized) struct RunReplicationTests {
    /// What the session said, kept for the test to wait on.
    actor Heard {
        var lines: [String] = []
        var summary: [String]?
        func add(_ event: BenchSession<FastClock>.Event) {
            switch event {
            case .line(let text): lines.append(text)
            case .finished(_, let summaryLines, _): summary = summaryLines
            case .ready, .view: break
            }
        }
    }

    /// Waits (real time, generously: a loaded machine is slow) until `condition` holds.
    static func until(_ what: String, _ condition: () async throws -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            if try await condition() { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("timed out waiting for \(what)")
        throw CancellationError()
    }

    @Test func stationRunShipsInTheBackgroundAndCatchesUpAfterTheServerComesBack() async throws {
        let server = try await ThrowawayPostgres.start()
        defer { Task { await server.destroy() } }
        _ = try await LineDatabase.with(try LineDatabaseURL.parse(server.url), password: nil) { database throws(LineError) in try await database.migrate() }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("run-line-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let text = """
            [station]
            id = "bench-run"
            line = "line-a"
            [product]
            id = 4242
            platform = "boron"
            [cloud]
            api_base_url = "http://127.0.0.1:9"
            credentials_file = "unused.toml"
            [bench]
            manifest = "unused.toml"
            final_state = "listening"
            [scanner]
            kind = "keyboard-wedge"
            [line]
            database = "\(server.url)"
            """
        let station = try StationConfig.parse(text, file: "station.toml", extraSections: BenchConfig.sections)
        let bench = try BenchConfig.parse(text, file: "station.toml", station: station)
        let line = try #require(station.line)
        let boron = PlatformCatalog.bundled.platform(named: "boron")!
        let files = try DemoFirmware.release(boron, deviceOS: "6.2.0", product: (id: 4242, version: 2)).map { ($0.name, Array($0.module.bytes)) }
        let manifests = ["boron": try FirmwareManifest.create(name: "boron-line", files: files)]

        let clock = FastClock(rate: 20)
        var devices: [(BenchDevice, [FirmwareModule])] = []
        for _ in 0..<3 {
            var profile = TestIdentities.profile()
            profile.simActive = true
            profile.cloudConnectDelay = .seconds(30)
            let spec = BenchDevice(platform: boron, mode: .normal, profile: profile, deviceOS: "5.9.0", preload: [.deviceOS])
            devices.append((spec, try spec.modules(files: [:])))
        }
        let emulated = try EmulatedBench(devices, physical: false, clock: clock)
        let store = try StationStore(path: folder.appendingPathComponent("station.sqlite").path)
        let typed = AsyncStream<String>.makeStream(bufferingPolicy: .unbounded)
        var setup = BenchSession<FastClock>.Setup(
            station: station, bench: bench, configPath: folder.appendingPathComponent("station.toml").path, manifests: manifests, store: store,
            link: emulated, hardware: emulated.events, scanners: [], typed: typed.stream, operatorName: "ana", sync: false, stopAfter: 3,
            transport: CurlHTTPTransport(), credentials: { .failure(CancellationError()) })
        let id = station.station.id, lineName = station.station.line
        // The pass `station run` wires for [line].
        setup.lineSync = { await LineReplicator.pass(store, line: line, station: id, lineName: lineName) }
        let heard = Heard()
        let events = try BenchSession(setup, clock: clock).run()
        let listening = Task { for await event in events { await heard.add(event) } }

        // Each device is plugged in and its sticker (serial and mobile secret) typed by the
        // keyboard-wedge scanner; the test waits for its PASS.
        func provision(_ index: Int) async throws {
            await emulated.plug(index)
            let serial = devices[index].0.profile.serial?.rawValue ?? ""
            typed.continuation.yield(serial + " WBPYG6CPLRCFK" + String(format: "%02d", index))
            try await Self.until("device \(index + 1)'s record") { try store.records().count >= index + 1 }
        }

        try await Self.until("the first pass") { await heard.lines.contains("line database: caught up") }
        try await provision(0)
        try await Self.until("device 1 on the line") { try await server.psql("SELECT count(*) FROM line_attempt") == "1" }

        // The server goes down as a crash would: the bench goes on, and says the line is behind.
        try await server.stop(immediate: true)
        try await provision(1)
        try await Self.until("the line said unreachable") { await heard.lines.contains { $0.contains("LINE-UNREACHABLE") } }
        #expect(try store.records().count == 2, "the bench recorded device 2 with its line down")

        try await server.begin()
        let caughtUp = await heard.lines.count
        try await Self.until("caught up again") { await heard.lines.dropFirst(caughtUp).contains("line database: caught up") }
        try await provision(2)
        try await Self.until("the session's end") { await heard.summary != nil }
        listening.cancel()

        let summary = await heard.summary ?? []
        #expect(summary.contains("line database: every record shipped"), "\(summary)")
        #expect(summary.contains { $0.hasPrefix("done: 3 passed, 0 failed") }, "\(summary)")
        // psql, a client that is not ours: every record and event once, the lag back to 0.
        let eventCount = try store.events().count
        #expect(try await server.psql("SELECT count(*) FROM line_attempt WHERE passed") == "3")
        #expect(try await server.psql("SELECT count(*) FROM line_device") == "3")
        #expect(try await server.psql("SELECT count(*) FROM line_event") == String(eventCount))
        #expect(try await server.psql("SELECT count(*) FROM line_import WHERE state = 'pending'") == "3", "the imports stay queued (--no-sync)")
        #expect(try await server.psql("SELECT shipped_seq FROM line_cursor WHERE station_id = 'bench-run'") == String(try store.lineLastSequence()))
        #expect(try await server.psql("SELECT lag_seconds FROM line_station WHERE station_id = 'bench-run'") == "0")
        let said = await heard.lines
        #expect(said.filter { $0 == "line database: caught up" }.count == 2, "each change of state said once: \(said)")
    }
}
