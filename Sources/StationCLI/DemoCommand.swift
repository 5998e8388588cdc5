import ArgumentParser
import Curl
import DeviceEmulator
import EmulatedBench
import FakeParticleCloud
import FirmwareModules
import Foundation
import ImportQueue
import ParticleCloud
import ParticleDevices
import PostgresLine
import Seams
import Station
import StationAgent
import StationConfig
import StationReports
import StationStore

/// `station demo`: the whole station on an embedded default. An emulated bench of six devices
/// of four platforms (one with an injected flash fault, one given another device's sticker),
/// scripted scans, demo firmware made by the project's own module writer, pinned in
/// manifests; the pipeline guards, identifies, pairs, flashes and verifies each device,
/// leaves it unable to connect, records everything and imports the passed devices into a
/// fake Particle cloud on loopback. Then it writes the HTML report and the event log.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo", abstract: "Run the station on an embedded default: emulated bench and loopback fake cloud.",
        discussion: """
            Six emulated devices (Boron, B5 SoM, Electron, Tracker, and two more Borons: one with a \
            flash fault that must FAIL with DFU-WRITE-STALL, one scanned with the wrong sticker that \
            must FAIL with PAIR-MISMATCH). Exit 0 when exactly those two fail with those codes, the \
            others pass, no device ever connected to the cloud, and the fake cloud imported exactly \
            the passed devices.
            """)

    @Flag(name: .long, help: "Pay the physical flash and USB times (slower, realistic progress).") var physical = false
    @Flag(name: .long, help: "Print one line per change instead of the live screen.") var plain = false
    @Option(name: .long, help: "Where to write the store, manifests, report and log (default: a new folder under the temporary directory).")
    var out: String?
    @Option(name: .long, help: "The demo station's id (several demos on one line database need distinct ones).") var stationID = "demo-bench"
    @Option(name: .long, help: "A line database to replicate the demo's records into (postgresql:// URL, no password in it; its schema is created if missing).")
    var lineDatabase: String?

    func validate() throws {
        guard !stationID.isEmpty, stationID.count <= 64, stationID.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else {
            throw ValidationError("--station-id '\(stationID)': letters, digits, '-', '_' and '.', at most 64.")
        }
        if let lineDatabase {
            do { _ = try LineDatabaseURL.parse(lineDatabase, environment: ProcessInfo.processInfo.environment) } catch {
                throw CommandFailure(.usage, error.code, "--line-database: \(error.description)")
            }
        }
    }

    struct Line {
        let platform: String
        let factoryOS: String
        let lineOS: String
        let productID: Int
    }

    static let lines = [
        Line(platform: "boron", factoryOS: "5.9.0", lineOS: "6.2.0", productID: 12_345),
        Line(platform: "b5som", factoryOS: "5.9.0", lineOS: "6.2.0", productID: 12_346),
        Line(platform: "electron", factoryOS: "1.1.0", lineOS: "2.3.1", productID: 12_347),
        Line(platform: "tracker", factoryOS: "5.9.0", lineOS: "6.2.0", productID: 12_348),
    ]

    func run() async throws {
        let folder = URL(fileURLWithPath: out ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("station-demo-\(Int(Date().timeIntervalSince1970))").path)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let catalog = PlatformCatalog.bundled

        // The line's firmware: demo modules from the module writer, pinned in manifests and
        // loaded back through the same check a real line uses.
        var manifests: [String: FirmwareManifest] = [:]
        for line in Self.lines {
            let platform = catalog.platform(named: line.platform)!
            let directory = folder.appendingPathComponent("firmware/\(line.platform)-\(line.lineOS)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let files = try DemoFirmware.release(platform, deviceOS: line.lineOS, product: (UInt16(line.productID), 1))
            for file in files { try Data(file.module.bytes).write(to: directory.appendingPathComponent(file.name)) }
            let made = try FirmwareManifest.create(name: "demo \(line.platform) line", files: files.map { ($0.name, Array($0.module.bytes)) })
            let path = directory.appendingPathComponent("manifest.toml").path
            try Data(made.file.toml.utf8).write(to: URL(fileURLWithPath: path))
            manifests[line.platform] = try ManifestVerifyCommand.load(path)
        }

        // The bench: factory devices in normal mode with active SIMs that would connect 3 s
        // after power-on if nothing stopped them.
        var devices: [(BenchDevice, [FirmwareModule])] = []
        func add(_ line: Line, faults: [Fault] = []) throws {
            var profile = TestIdentities.profile()
            profile.simActive = true
            profile.cloudConnectDelay = .seconds(3)
            let spec = BenchDevice(platform: catalog.platform(named: line.platform)!, mode: .normal, profile: profile, deviceOS: line.factoryOS,
                                   preload: [.deviceOS], faults: faults)
            devices.append((spec, try spec.modules(files: [:])))
        }
        for line in Self.lines { try add(line) }
        try add(Self.lines[0], faults: [.stallAtChunk(3)])  // index 4: a flash fault
        try add(Self.lines[0])  // index 5: gets the wrong sticker
        let bench = try EmulatedBench(devices, physical: physical)

        // The fake cloud: one product per platform, the devices and SIMs as manufactured.
        let cloud = FakeParticleCloud()
        let token = (0..<40).map { _ in String(Int.random(in: 0..<16), radix: 16) }.joined()
        cloud.addToken(token, .init(name: "factory"))
        for line in Self.lines {
            let platform = catalog.platform(named: line.platform)!
            cloud.addProduct(.init(id: line.productID, slug: "demo-\(line.platform)", platformID: Int(platform.id.rawValue), plan: .paid, owner: "factory"))
        }
        for (spec, _) in devices {
            cloud.manufacture(.init(deviceID: spec.profile.deviceID.rawValue, platformID: Int(spec.platform.id.rawValue),
                                    serial: spec.profile.serial?.rawValue, iccid: spec.profile.iccid?.rawValue))
        }
        let server = try cloud.serve()
        defer { server.stop() }

        let store = try StationStore(path: folder.appendingPathComponent("station.sqlite").path)
        let log = StoreLog(store: store, stationID: stationID, line: "Demo line", operatorName: "demo")
        let provisioner = Provisioner(link: bench, manifests: manifests, clock: ContinuousClock(), switchWithin: .seconds(60))
        let driver = BenchDriver(policy: BenchPolicy(finalStates: ["tracker": .dfu]), provisioner: provisioner, link: bench, log: log, clock: ContinuousClock())
        let feed = Task { for await event in bench.events { await driver.hardware(event) } }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                await driver.tick()
            }
        }
        let title = "station demo: Demo line, operator demo"
        let live = !(plain || isatty(STDOUT_FILENO) == 0)
        let screen = Task { await showBench(driver.updates(), title: title, plain: !live) }

        // The technician: plugs each device in and scans its sticker, as a scanner reads
        // it: a Gen 3 Data Matrix holds the serial number, a space and the mobile secret
        // (one scanner here sends the AIM symbology prefix ]d2 first); the Electron's (Gen 2)
        // holds the serial number only.
        for (index, (spec, _)) in devices.enumerated() {
            await bench.plug(index)
            try await Task.sleep(for: .milliseconds(250))
            let serial = index == 5 ? (TestIdentities.profile().serial?.rawValue ?? "P0WRONG") : (spec.profile.serial?.rawValue ?? "")
            let gen3 = spec.platform.name != "electron"
            let secret = String((0..<15).map { _ in "ABCDEFGHJKLMNPQRSTUVWXYZ23456789".randomElement()! })
            await driver.scanned((index == 1 ? "]d2" : "") + serial + (gen3 ? " " + secret : "") + "\r\n")
        }
        let deadline = ContinuousClock.now + .seconds(physical ? 600 : 180)
        while ContinuousClock.now < deadline {
            let jobs = await driver.jobs
            if jobs.count == devices.count, jobs.allSatisfy({ !$0.step.isActive }) { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        // Past every cloud timer: a guarded device never connects.
        try await Task.sleep(for: .seconds(1))
        ticker.cancel()
        let jobs = Dictionary(uniqueKeysWithValues: await driver.jobs.map { ($0.deviceID.rawValue, $0) })

        // Imports: one sync worker per product (platform).
        var summary: [String] = []
        var importedCount = 0, requests = 0
        for line in Self.lines {
            let platform = catalog.platform(named: line.platform)!
            let worker = SyncWorker(
                store: store, product: ParticleCloudClient(transport: CurlHTTPTransport(), baseURL: server.baseURL, token: Token(token)), testAccount: nil,
                settings: .init(product: ProductKey(String(line.productID)), giveUpAfter: .seconds(20), platformID: Int(platform.id.rawValue)))
            let report = try await worker.run()
            importedCount += report.imported
            requests += report.requests
        }

        // What happened, checked.
        let ids = devices.map { $0.0.profile.deviceID.rawValue }
        let expectedFailures = [ids[4]: "DFU-WRITE-STALL", ids[5]: "PAIR-MISMATCH"]
        var problems: [String] = []
        for (index, id) in ids.enumerated() {
            let job = jobs[id]
            if let code = expectedFailures[id] {
                if job?.step != .failed || job?.failure?.code != code {
                    problems.append("device \(index + 1) should FAIL with \(code), got \(job.map { "\($0.step) \($0.failure?.code ?? "")" } ?? "nothing")")
                }
            } else if job?.step != .passed {
                problems.append("device \(index + 1) (\(devices[index].0.platform.name)) should PASS, got \(job.map { "\($0.step) \($0.failure.map { "[\($0.code)] \($0.message)" } ?? "")" } ?? "nothing")")
            }
        }
        let passed = Set(jobs.values.filter { $0.step == .passed }.map(\.deviceID.rawValue))
        let imported = Set(Self.lines.flatMap { cloud.members(of: $0.productID) })
        if imported != passed { problems.append("the cloud imported \(imported.sorted()), the passed devices are \(passed.sorted())") }
        let connected = await bench.anyConnected()
        if !connected.isEmpty { problems.append("devices connected to the cloud: \(connected)") }

        let records = try store.records()
        let reportPath = folder.appendingPathComponent("report.html").path
        try PrivateFile.write(Data(LineReport(records: records, explain: ReportCommand.explain).html(title: "Station demo: provisioning report").utf8),
                              to: reportPath, group: nil)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let events = try store.events().map { String(decoding: try encoder.encode($0), as: UTF8.self) + "\n" }.joined()
        let logPath = folder.appendingPathComponent("events.jsonl").path
        try PrivateFile.write(Data(events.utf8), to: logPath, group: nil)
        let last = await driver.view
        screen.cancel()
        await screen.value
        feed.cancel()
        await bench.stop()

        summary.append("import: the fake cloud imported \(importedCount) in \(requests) request(s), " + (imported == passed ? "exactly the passed devices" : "NOT the passed devices"))
        summary.append(connected.isEmpty ? "cloud: no device ever connected (each was put in listening mode on arrival)" : "cloud: devices CONNECTED: \(connected)")
        summary.append("report: \(reportPath)")
        summary.append("event log: \(logPath)")
        summary.append("store: \(store.path)")
        if let lineDatabase { summary.append(await Self.replicate(store, station: stationID, to: lineDatabase)) }
        if problems.isEmpty {
            summary.append("demo: PASS (4 passed; 2 failed as intended: DFU-WRITE-STALL, PAIR-MISMATCH)")
        } else {
            summary += problems.map { "demo problem: \($0)" }
            summary.append("demo: FAIL")
        }
        endBench(last, title: title, live: live, summary: summary)
        if !problems.isEmpty { throw StationExitCode.failed.exitCode }
    }

    /// Ships the demo's records into the line database (creating its schema if missing).
    /// An unreachable line does not change the demo's result: the records stay in the store.
    static func replicate(_ store: StationStore, station: String, to text: String) async -> String {
        do throws(LineError) {
            guard let url = try? LineDatabaseURL.parse(text, environment: ProcessInfo.processInfo.environment) else { return "line: the URL is not usable" }
            let password = try LinePassword.resolve(url, file: nil, environment: ProcessInfo.processInfo.environment)
            let report = try await LineDatabase.with(url, password: password) { database throws(LineError) in
                try await database.migrate()
                return try await LineReplicator.sync(store, into: database, station: station, line: "Demo line")
            }
            return "line: \(station) shipped \(report.changes) change(s) to \(url)"
        } catch {
            return "line: unreachable (\(error.description)); the records stay in the store: `station line sync --store \(store.path) --database \(text)` ships them"
        }
    }
}
