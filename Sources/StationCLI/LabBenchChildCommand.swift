import ArgumentParser
import DeviceEmulator
import EmulatedBench
import FirmwareModules
import Foundation
import ParticleDevices
import Station
import StationAgent
import StationStore

/// `station lab bench-child`: a station provisioning an emulated bench in this process, for
/// the kill campaign (`Tests/StationCLITests/KillCampaignTests.swift`): killed with -9 at any
/// moment and started again on the same store, it resumes. The devices' identities come from
/// `--seed`, so every start sees the same bench: each start plugs every device in again (a
/// bench powered up again) and scans every sticker, as a technician would after a crash; the
/// store says which jobs are done, which were cut short and which never began. Ends (exit 0)
/// once every device has passed or failed, with a JSON line: the jobs' outcomes and whether
/// any device connected.
struct LabBenchChildCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-child", abstract: "Provision an emulated bench on a store, resuming what a killed run left (kill campaign).",
        shouldDisplay: false)

    @Option(name: .long, help: "The station store (SQLite).") var store: String
    @Option(name: .long, help: "How many Borons on the bench.") var devices: Int = 6
    @Option(name: .long, help: "Identities come from this seed: the same bench on every start.") var seed: UInt64 = 1
    @Option(name: .long, help: "The device (0-based) whose flash stalls: it must FAIL with DFU-WRITE-STALL.") var failing: Int = 2
    @Option(name: .long, help: "Give up after this many seconds.") var timeout: Double = 120

    func validate() throws {
        guard (1...20).contains(devices) else { throw ValidationError("--devices must be 1 to 20.") }
    }

    func run() async throws {
        let outcome = try await KillBench(storePath: store, devices: devices, seed: seed, failing: failing).run(timeout: .milliseconds(Int(timeout * 1000)))
        let data = try JSONSerialization.data(withJSONObject: outcome, options: [.sortedKeys])
        say(String(decoding: data, as: UTF8.self))
        if outcome["finished"] as? Bool != true || !(outcome["connected"] as? [String] ?? []).isEmpty { throw StationExitCode.failed.exitCode }
    }
}

/// SplitMix64: the bench's identities from a seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The emulated bench and the pipeline of one start of the bench child.
struct KillBench {
    let storePath: String
    let devices: Int
    let seed: UInt64
    let failing: Int

    func run(timeout: Duration) async throws -> [String: Any] {
        let folder = URL(fileURLWithPath: storePath).deletingLastPathComponent()
        let catalog = PlatformCatalog.bundled
        let boron = catalog.platform(named: "boron")!
        // The line's firmware, written next to the store on every start (the same bytes).
        let directory = folder.appendingPathComponent("bench-child-firmware")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let files = try DemoFirmware.release(boron, deviceOS: "6.2.0", product: (12_345, 1))
        for file in files { try Data(file.module.bytes).write(to: directory.appendingPathComponent(file.name), options: .atomic) }
        let made = try FirmwareManifest.create(name: "kill campaign boron line", files: files.map { ($0.name, Array($0.module.bytes)) })
        let manifestPath = directory.appendingPathComponent("manifest.toml").path
        try Data(made.file.toml.utf8).write(to: URL(fileURLWithPath: manifestPath), options: .atomic)
        let manifests = ["boron": try ManifestVerifyCommand.load(manifestPath)]

        var generator = SeededGenerator(state: seed)
        var bench: [(BenchDevice, [FirmwareModule])] = []
        var stickers: [String] = []
        for index in 0..<devices {
            var profile = TestIdentities.profile(using: &generator)
            profile.simActive = true
            profile.cloudConnectDelay = .seconds(3)
            let spec = BenchDevice(platform: boron, mode: .normal, profile: profile, deviceOS: "5.9.0", preload: [.deviceOS],
                                   faults: index == failing ? [.stallAtChunk(3)] : [])
            bench.append((spec, try spec.modules(files: [:])))
            let secret = String((0..<15).map { _ in Array("ABCDEFGHJKLMNPQRSTUVWXYZ23456789").randomElement(using: &generator)! })
            stickers.append((profile.serial?.rawValue ?? "") + " " + secret + "\r\n")
        }
        let emulated = try EmulatedBench(bench)
        let store = try StationStore(path: storePath)
        let driver = BenchDriver(
            policy: BenchPolicy(), provisioner: Provisioner(link: emulated, manifests: manifests, clock: ContinuousClock(), switchWithin: .seconds(60)),
            link: emulated, log: StoreLog(store: store, stationID: "kill-bench", line: "Kill campaign", operatorName: "campaign"), clock: ContinuousClock())
        await driver.restore()
        let feed = Task { for await event in emulated.events { await driver.hardware(event) } }
        let ticker = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                await driver.tick()
            }
        }
        for index in 0..<devices {
            await emulated.plug(index)
            try await Task.sleep(for: .milliseconds(50))
            await driver.scanned(stickers[index])
        }
        let ids = bench.map { $0.0.profile.deviceID.rawValue }
        let deadline = ContinuousClock.now + timeout
        var finished = false
        var lastRescan = ContinuousClock.now
        while ContinuousClock.now < deadline {
            let jobs = Dictionary(uniqueKeysWithValues: await driver.jobs.map { ($0.deviceID.rawValue, $0) })
            if ids.allSatisfy({ jobs[$0]?.step == .passed || jobs[$0]?.step == .failed }) { finished = true; break }
            // A device still waiting for its sticker (its scan came before it was ready to
            // take one) is scanned again, as a technician would.
            if lastRescan.duration(to: .now) > .seconds(2) {
                lastRescan = .now
                for (index, id) in ids.enumerated() where jobs[id]?.step == .waitingForScan { await driver.scanned(stickers[index]) }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        ticker.cancel()
        feed.cancel()
        let jobs = Dictionary(uniqueKeysWithValues: await driver.jobs.map { ($0.deviceID.rawValue, $0) })
        let connected = await emulated.anyConnected()
        await emulated.stop()
        return [
            "finished": finished,
            "devices": ids,
            "failing": ids.indices.contains(failing) ? ids[failing] : NSNull(),
            "steps": Dictionary(uniqueKeysWithValues: ids.map { ($0, jobs[$0]?.step.rawValue ?? "none") }),
            "connected": connected,
        ]
    }
}
