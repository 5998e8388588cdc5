import Curl
import DeviceEmulator
import EmulatedBench
import FakeParticleCloud
import FirmwareModules
import Foundation
import ImportQueue
import ParticleCloud
import ParticleDevices
import Seams
import Station
import StationAgent
import StationStore
import TestSupport
import Testing

/// The whole pipeline on an in-process emulated bench: guard, identify, pairing, flash
/// (control requests and DFU), final state, records and imports, with random identities.
/// Everything (the station's waits and the emulated devices' timing) runs on one `FastClock`:
/// time passes 20 times faster than real time, and where a test would wait for a device's
/// cloud timer it moves the clock on instead. The tests wait on the driver's view updates,
/// never on a timer of their own.
@Suite(.serialized) struct BenchDriverTests {
    static func platform(_ name: String) -> Platform { PlatformCatalog.bundled.platform(named: name)! }

    /// A device's cloud timer: with an active SIM it connects this long after power-on
    /// unless the guard stops it (on the test clock: 1.5 s of real time for the guard).
    static let cloudConnectDelay = Duration.seconds(30)

    static func device(_ name: String, os: String, faults: [Fault] = []) throws -> (BenchDevice, [FirmwareModule]) {
        var profile = TestIdentities.profile()
        profile.simActive = true
        profile.cloudConnectDelay = cloudConnectDelay
        let spec = BenchDevice(platform: platform(name), mode: .normal, profile: profile, deviceOS: os, preload: [.deviceOS], faults: faults)
        return (spec, try spec.modules(files: [:]))
    }

    static func manifests() throws -> [String: FirmwareManifest] {
        var result: [String: FirmwareManifest] = [:]
        for (name, os) in [("boron", "6.2.0"), ("electron", "2.3.1")] {
            let files = try DemoFirmware.release(platform(name), deviceOS: os, product: (id: 4242, version: 2)).map { ($0.name, Array($0.module.bytes)) }
            result[name] = try FirmwareManifest.create(name: "\(name)-line", files: files)
        }
        return result
    }

    /// A mobile secret for device `index`'s sticker (15 letters and digits, as printed).
    static func secret(_ index: Int) -> String { "WBPYG6CPLRCFK" + String(format: "%02d", index) }

    struct Run {
        let bench: EmulatedBench
        let driver: BenchDriver<FastClock>
        let store: StationStore
        let specs: [BenchDevice]
        let clock: FastClock
    }

    func start(_ devices: [(BenchDevice, [FirmwareModule])], policy: BenchPolicy = BenchPolicy(), physical: Bool = false, bench existing: EmulatedBench? = nil,
               store existingStore: StationStore? = nil, clock existingClock: FastClock? = nil, destination: Destination = .product,
               connectivity: (@Sendable (EmulatedBench, StationStore, FastClock) -> ConnectivityTest)? = nil,
               eventDelay: Duration? = nil, manifests: [String: FirmwareManifest]? = nil) async throws -> Run {
        let clock = existingClock ?? FastClock(rate: 20)
        let bench = try existing ?? EmulatedBench(devices, physical: physical, clock: clock)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bench-\(UUID().uuidString)")
        let store = try existingStore ?? StationStore(path: folder.appendingPathComponent("station.sqlite").path)
        let provisioner = Provisioner(link: bench, manifests: try manifests ?? Self.manifests(), clock: clock, switchWithin: .seconds(90),
                                      allowServiceMode: policy.allowServiceMode)
        let driver = BenchDriver(policy: policy, provisioner: provisioner,
                                 noCloud: NoCloudPolicy(connectivityTest: policy.connectivityTest), link: bench,
                                 log: StoreLog(store: store, stationID: "test-bench", operatorName: "ana", destination: destination), clock: clock,
                                 connectivity: connectivity?(bench, store, clock))
        await driver.restore()
        let events = existing == nil ? bench.events : await bench.subscribe()
        Task {
            for await event in events {
                // A loaded machine: each arrival reaches the bench 1.5 s late (and what
                // follows it in the one ordered stream waits behind it).
                if case .arrived = event, let eventDelay { try? await clock.sleep(for: eventDelay) }
                await driver.hardware(event)
            }
        }
        return Run(bench: bench, driver: driver, store: store, specs: devices.map(\.0), clock: clock)
    }

    /// Waits until `condition` holds, checking it at each change of the bench's view (a
    /// record is written before the view that follows it); records an issue after `timeout`
    /// on the run's clock.
    func waitUntil(_ run: Run, _ what: String, timeout: Duration = .seconds(1200), _ condition: @escaping @Sendable ([Job]) async throws -> Bool) async {
        let driver = run.driver, clock = run.clock
        let updates = await driver.updates()
        let met = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await _ in updates where (try? await condition(await driver.jobs)) == true { return true }
                return false
            }
            group.addTask {
                try? await clock.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if !met { Issue.record("timed out waiting for \(what): \(await driver.jobs.map { "\($0.deviceID) \($0.step) \($0.progress.map { "\($0.done)" } ?? "") \($0.failure?.code ?? "")" })") }
    }

    /// Waits until `count` jobs are finished and each one's record is in the store (a job is
    /// finished a moment before its record is written).
    func waitUntilDone(_ run: Run, count: Int, timeout: Duration = .seconds(1200)) async {
        let store = run.store
        await waitUntil(run, "\(count) finished job(s) and their records", timeout: timeout) { jobs in
            guard jobs.count == count, jobs.allSatisfy({ !$0.step.isActive }) else { return false }
            let recorded = Set(try store.records().map { "\($0.deviceID) \($0.attempt)" })
            return jobs.allSatisfy { recorded.contains("\($0.deviceID) \($0.attempt)") }
        }
    }

    /// Lets every device's cloud timer run out: a device the guard did not stop connects now.
    func letCloudTimersRunOut(_ run: Run) async {
        run.clock.advance(by: Self.cloudConnectDelay * 2)
        await run.clock.settle()
    }

    @Test func mixedPlatformsPassAFaultAndAMismatchFailWithTheirCodes() async throws {
        let run = try await start([
            try Self.device("boron", os: "5.9.0"),
            try Self.device("electron", os: "1.1.0"),
            try Self.device("boron", os: "5.9.0", faults: [.stallAtChunk(3)]),
            try Self.device("boron", os: "5.9.0"),
        ])
        for index in 0..<4 {
            await run.bench.plug(index)
            let spec = run.specs[index]
            // The technician scans once the row asks for it: a scan sent before the station
            // even knows of the device could go to another waiting one (a loaded CI machine).
            let id = spec.profile.deviceID
            await waitUntil(run, "device \(index) identified") { jobs in
                jobs.contains { $0.deviceID == id && $0.step != .detected && $0.step != .identifying }
            }
            // What a scanner reads off the sticker: a Gen 3 Data Matrix holds the serial
            // number, a space and the mobile secret (the first one with the AIM prefix ]d2 and
            // CR LF); the Electron's (Gen 2) holds the serial number only. The last device
            // gets another device's sticker.
            let sticker = index == 3 ? "P0WRONGSTICKER1 WBPYG6CPLRCFK4S" : (spec.profile.serial?.rawValue ?? "") + (spec.platform.name == "electron" ? "" : " " + Self.secret(index))
            await run.driver.scanned((index == 0 ? "]d2" : "") + sticker + "\r\n")
        }
        await waitUntilDone(run, count: 4)
        let jobs = Dictionary(uniqueKeysWithValues: await run.driver.jobs.map { ($0.deviceID.rawValue, $0) })
        let ids = run.specs.map(\.profile.deviceID.rawValue)
        #expect(jobs[ids[0]]?.step == .passed && jobs[ids[1]]?.step == .passed, "\(jobs.values.map { "\($0.step) \($0.failure?.code ?? "")" })")
        #expect(jobs[ids[2]]?.failure?.code == "DFU-WRITE-STALL")
        #expect(jobs[ids[3]]?.failure?.code == "PAIR-MISMATCH")
        // Identities came from the devices.
        #expect(jobs[ids[1]]?.identity.iccid == run.specs[1].profile.iccid)
        #expect(jobs[ids[0]]?.identity.imei == run.specs[0].profile.imei)
        // The store has one record per attempt and queued exactly the passed devices. A job
        // is done before its record is written (the write follows the step), and each result
        // event follows its record: wait for the view that follows them.
        let store = run.store
        await waitUntil(run, "4 records and their results") { _ in
            try store.records().count >= 4 && store.events().filter { $0.kind == "result" }.count >= 4
        }
        let records = try run.store.records()
        #expect(records.count == 4 && records.filter(\.passed).map(\.deviceID).sorted() == [ids[0], ids[1]].sorted())
        // The import is queued in the record's transaction.
        #expect(Set(try run.store.items().map(\.deviceID)) == Set([ids[0], ids[1]]))
        let boron = try #require(records.first { $0.deviceID == ids[0] })
        #expect(boron.written.contains { $0.action == "written" && $0.file.contains("system-part1@6.2.0") })
        #expect(boron.written.contains { $0.action == "already-installed" && $0.file.contains("bootloader") }, "the factory bootloader is already right: \(boron.written.map { "\($0.file) \($0.action)" })")
        #expect(boron.modulesAfter.contains { $0.function == "systemPart" && $0.version == 6200 && $0.valid })
        #expect(boron.scan == run.specs[0].profile.serial?.rawValue && boron.operatorName == "ana")
        let events = try run.store.events().map { "\($0.kind) \($0.detail ?? "")" }
        // Device OS as found, and as flashed (from the verified system part).
        #expect(boron.deviceOSVersion == "5.9.0" && boron.deviceOSAfter == "6.2.0", "\(boron.deviceOSVersion ?? "-") \(boron.deviceOSAfter ?? "-")")
        // The event log has each step's outcome and the result, with the failure's code.
        #expect(events.contains { $0.hasPrefix("result ") && $0.contains("FAIL DFU-WRITE-STALL") })
        #expect(events.contains { $0.hasPrefix("result ") && $0.contains("PASS") })
        #expect(events.contains { $0.hasPrefix("step ") && $0.contains("flashing FAIL DFU-WRITE-STALL, now failed") }, "\(events.filter { $0.hasPrefix("step ") })")
        #expect(events.contains { $0.hasPrefix("step ") && $0.contains("identifying ok") })
        // The mobile secret is in the station's own record, read back only when asked for,
        // and never in the event log or on the screen.
        #expect(boron.mobileSecret == nil)
        #expect(try run.store.records(RecordFilter(includeSecrets: true)).first { $0.deviceID == ids[0] }?.mobileSecret == Self.secret(0))
        #expect(events.contains { $0.hasPrefix("scan ") && $0.contains(run.specs[0].profile.serial?.rawValue ?? "?") })
        for index in [0, 2] { #expect(!events.contains { $0.contains(Self.secret(index)) }) }
        #expect(!(await run.driver.recentPrompts).contains { $0.contains(Self.secret(0)) })
        // Prompts go once their slot moves on: no device waits for a scan any more.
        let current = await run.driver.view.prompts
        #expect(!current.contains { $0.contains("scan the sticker") }, "\(current)")
        // Each device that waited for its scan was asked for it (the event log keeps every
        // prompt). On a loaded machine a scan can arrive before its device is identified, and
        // that device pairs without ever waiting or being asked.
        let waited = events.filter { $0.hasPrefix("step ") && $0.hasSuffix("now waitingForScan") }.count
        let asked = events.filter { $0.hasPrefix("prompt ") && $0.contains("scan the sticker") }.count
        #expect(asked >= waited, "\(waited) waited, \(asked) asked")
        // Nobody connected to the cloud, even once every cloud timer ran out; the passed
        // Borons are left in listening mode.
        await letCloudTimersRunOut(run)
        #expect(await run.bench.anyConnected().isEmpty)
        let logs = await run.bench.cloudLogs()
        #expect(logs[ids[0]]?.contains { if case .stopped = $0.kind { true } else { false } } == true)
        await run.bench.stop()
    }

    @Test func typedLinesAreCommandsOrStickersAndEveryRefusalSaysWhy() async throws {
        let run = try await start([try Self.device("boron", os: "5.9.0")])
        await run.bench.plug(0)
        await waitUntil(run, "waiting for the scan") { $0.first?.step == .waitingForScan }
        #expect(await run.driver.typed("r 9-9", stickers: true) == false)
        #expect(await run.driver.typed("r 1-1", stickers: true) == false)
        #expect(await run.driver.typed("hello there", stickers: true) == false)
        #expect(await run.driver.typed("help", stickers: true) == false)
        #expect(await run.driver.typed("P0AAAAAAAAAAAAA", stickers: false) == false)
        let prompts = await run.driver.recentPrompts
        #expect(prompts.contains("r 9-9: no device is in slot 9-9; plug the failed device back in there first"), "\(prompts)")
        #expect(prompts.contains { $0.hasPrefix("r 1-1: the device in 1-1 is still working (waiting for its scan); only a FAIL can be re-run") }, "\(prompts)")
        #expect(prompts.contains { $0.hasPrefix("'hello ...' is neither a sticker nor a command") }, "\(prompts)")
        #expect(prompts.contains { $0.hasPrefix("r SLOT") } && prompts.contains { $0.hasPrefix("q ") })
        #expect(prompts.contains { $0.hasPrefix("'P0AAAAAAAAAAAAA' is not a command") })
        // None of it was taken as a scan: the device still waits for its sticker.
        #expect(await run.driver.jobs.first?.step == .waitingForScan)
        #expect(await run.driver.typed("q", stickers: true) == true)
        await run.bench.stop()
    }

    @Test func busEventsArrivingLateDoNotStallAJob() async throws {
        // The steps reach the device by ID, so they can finish a mode switch before the bench
        // hears of the arrival (seen once on a loaded CI machine: a job stuck in flashing).
        let run = try await start([try Self.device("boron", os: "5.9.0")], eventDelay: .milliseconds(1500))
        await run.bench.plug(0)
        await run.driver.scanned(run.specs[0].profile.serial?.rawValue ?? "")
        await waitUntilDone(run, count: 1, timeout: .seconds(600))
        let jobs = await run.driver.jobs
        #expect(jobs.first?.step == .passed && jobs.first?.attempt == 1, "\(jobs.map { "\($0.step) \($0.failure?.code ?? "")" })")
        #expect(await run.bench.anyConnected().isEmpty)
        await run.bench.stop()
    }

    static let testToken = "testtoken0123456789abcdef0123456789"

    /// A connectivity line over the fake cloud on loopback (real HTTP through libcurl): the
    /// station's own import queue worker and the test-account adapter, and one Boron whose SIM
    /// the cloud knows, inactive (or, with `simKnown` false, not at all). The Boron is plugged
    /// in and its sticker scanned; returns when its job is over.
    func runConnectivityLine(simKnown: Bool) async throws -> (run: Run, cloud: FakeParticleCloud, server: LoopbackHTTPServer, id: String, iccid: String) {
        let cloud = FakeParticleCloud()
        cloud.addToken(Self.testToken, .init(name: "test-account"))
        let server = try cloud.serve()
        var unit = try Self.device("boron", os: "5.9.0")
        // It connects soon once let out (in its connectivity test step).
        unit.0.profile.cloudConnectDelay = .seconds(10)
        let id = unit.0.profile.deviceID.rawValue, iccid = unit.0.profile.iccid!.rawValue
        // Its SIM is not active: without the test account's import it could never connect.
        cloud.manufacture(.init(deviceID: id, platformID: 13, serial: unit.0.profile.serial?.rawValue, iccid: simKnown ? iccid : nil))
        let client = ParticleCloudClient(transport: CurlHTTPTransport(), baseURL: server.baseURL, token: Token(Self.testToken))
        let run = try await start([unit], policy: BenchPolicy(connectivityTest: true), destination: .testAccount) { bench, store, clock in
            let worker = SyncWorker(store: store, product: nil, testAccount: client,
                                    settings: .init(product: ProductKey("4242"), fallback: .init(policy: .always), giveUpAfter: .seconds(5)))
            let line = TestAccountLine(store: store, client: client, activationWithin: .seconds(30), clock: clock) { _ = try? await worker.run() }
            return ConnectivityTest(link: bench, within: .seconds(60), clock: clock, activate: { try await line.activate($0) }, isOnline: { try await line.isOnline($0) })
        }
        // The emulator's "connected" moment is what the fake cloud sees as coming online
        // (only with an active SIM).
        await run.bench.setOnConnected { id in _ = cloud.bringOnline(id) }
        await run.bench.plug(0)
        await run.driver.scanned(unit.0.profile.serial?.rawValue ?? "")
        await waitUntilDone(run, count: 1)
        return (run, cloud, server, id, iccid)
    }

    @Test func aConnectivityLineActivatesTheSIMUnderTheTestAccountThenSeesTheDeviceOnline() async throws {
        let (run, cloud, server, id, iccid) = try await runConnectivityLine(simKnown: true)
        defer { server.stop() }
        let jobs = await run.driver.jobs
        #expect(jobs.first?.step == .passed, "\(jobs.map { "\($0.step) \($0.failure?.code ?? "") \($0.failure?.message ?? "")" })")
        #expect(cloud.isOnline(id) && cloud.sim(iccid)?.state == .active && cloud.owner(of: id) == "test-account")
        // The SIM was activated before the claim that proved it online.
        let calls = cloud.ledger.map { "\($0.method) \($0.path) \($0.status)" }
        let activated = calls.firstIndex { $0.hasPrefix("PUT /v1/sims/\(iccid) 200") }, claimed = calls.lastIndex { $0 == "POST /v1/devices 200" }
        #expect(activated != nil && claimed != nil && activated! < claimed!, "\(calls)")
        // The queue knows: under the test account, claimed, waiting for migration into the product.
        let item = try #require(try run.store.items().first { $0.deviceID == id })
        #expect(item.state == .pendingMigration && item.destination == .testAccount && item.reason?.contains("claimed") == true, "\(item)")
        let log = await run.bench.cloudLogs()[id] ?? []
        #expect(log.contains { $0.kind == .connected })
        // Connected only after the flash: the guard stopped the first attempt on arrival.
        #expect(log.firstIndex { if case .stopped = $0.kind { true } else { false } } ?? Int.max < log.firstIndex { $0.kind == .connected } ?? -1)
        await run.bench.stop()
    }

    @Test func aConnectivityLineWhoseSIMCannotBeActivatedFailsWithoutConnecting() async throws {
        // The cloud does not know its SIM: activation is refused (404).
        let (run, cloud, server, id, _) = try await runConnectivityLine(simKnown: false)
        defer { server.stop() }
        let job = try #require(await run.driver.jobs.first)
        #expect(job.step == .failed && job.failure?.code == "CONNECTIVITY-ACTIVATION", "\(job.step) \(job.failure?.code ?? "") \(job.failure?.message ?? "")")
        #expect(job.failure?.message.contains("station queue status --device") == true)
        // It was never let out of listening mode.
        await letCloudTimersRunOut(run)
        #expect(await run.bench.anyConnected().isEmpty)
        #expect(!cloud.ledger.contains { $0.method == "POST" && $0.path == "/v1/devices" })
        // Its queued import is withdrawn: it must not be migrated into the product.
        let item = try #require(try run.store.items().first { $0.deviceID == id })
        #expect(item.state == .attention && item.reason?.hasPrefix("withdrawn: failed its connectivity test: [CONNECTIVITY-ACTIVATION]") == true, "\(item)")
        await run.bench.stop()
    }

    @Test func unpluggedMidWriteThenPluggedBackResumesTheSameAttempt() async throws {
        let unit = try Self.device("boron", os: "5.9.0")
        let run = try await start([unit], physical: true)
        await run.bench.plug(0)
        await run.driver.scanned(unit.0.profile.serial?.rawValue ?? "")
        await waitUntil(run, "writing") { $0.first.map { $0.step == .flashing && ($0.progress?.done ?? 0) > 40_000 } ?? false }
        await run.bench.unplug(0)
        await waitUntil(run, "the interruption") { $0.first?.step == .interrupted }
        #expect(await run.driver.jobs.first?.interruptedAt == .flashing)
        await run.bench.plug(0)
        // Its system firmware was cut short: it cannot boot, so it comes back in DFU mode and
        // the resumed flash starts there.
        #expect(await run.bench.presence(unit.0.profile.deviceID) == .dfu)
        await waitUntilDone(run, count: 1)
        let job = try #require(await run.driver.jobs.first)
        #expect(job.step == .passed && job.attempt == 1 && job.scan == unit.0.profile.serial?.rawValue, "resumed, pairing kept: \(job.step) \(job.failure?.code ?? "")")
        #expect(try run.store.records().map(\.attempt) == [1])
        await run.bench.stop()
    }

    @Test func aStationKilledMidWriteResumesFromTheStoreAfterRestart() async throws {
        let unit = try Self.device("boron", os: "5.9.0")
        let first = try await start([unit], physical: true)
        await first.bench.plug(0)
        await first.driver.scanned(unit.0.profile.serial?.rawValue ?? "")
        await waitUntil(first, "writing") { $0.first.map { $0.step == .flashing && ($0.progress?.done ?? 0) > 40_000 } ?? false }
        // The station dies: its driver is gone (its work stops, it writes nothing more); the
        // device is pulled and plugged again later.
        await first.driver.stop()
        await first.bench.unplug(0)
        let second = try await start([], bench: first.bench, store: first.store, clock: first.clock)
        #expect(await second.driver.jobs.first?.step == .interrupted, "restored from the store")
        await first.bench.plug(0)
        await waitUntilDone(second, count: 1)
        let job = try #require(await second.driver.jobs.first)
        #expect(job.step == .passed && job.attempt == 1 && job.scan == unit.0.profile.serial?.rawValue)
        // The job is done a moment before its record is written.
        let store = second.store
        await waitUntil(second, "the record") { _ in try !store.records().isEmpty }
        let records = try second.store.records()
        #expect(records.count == 1, "\(records.map { "attempt \($0.attempt) \($0.passed ? "PASS" : "FAIL \($0.failureCode ?? "")")" })")
        await first.bench.stop()
    }
}
