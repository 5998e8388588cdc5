import Seams
import ArgumentParser
import DeviceEmulator
import EmulatedBench
import FirmwareModules
import Foundation
import ParticleDevices
import Station
import StationAgent
import StationStore

/// `station benchmark pipeline --devices N`: a whole bench through the pipeline with the emulator's
/// timing model on, against one device alone, with the station's own peak memory.
struct PipelineBenchmarkCommand: AsyncParsableCommand, JSONOutputCommand {
    var printsJSON: Bool { json }
    static let configuration = CommandConfiguration(
        commandName: "pipeline", abstract: "Time N devices through the whole pipeline against one device alone, with peak memory.",
        discussion: """
            Each device arrives in normal mode (factory Device OS 5.9.0, active SIM), is guarded, \
            identified, paired with its scan, flashed to Device OS 6.2.0 plus a product firmware \
            (control requests, then DFU, the emulator paying datasheet flash and full-speed USB \
            times), verified, left in listening mode and recorded. ratio = N devices' wall time / \
            one device's (target at most 1.3). Memory: the process's peak resident size during the \
            N-device run (VmHWM, reset before it) minus what the emulated devices themselves hold \
            (resident growth while creating them).
            """)

    @Option(name: .long, help: "Devices on the bench.") var devices = 8
    @Option(name: .long, help: "Platform (boron, bsom, b5som, esomx, tracker, electron).") var platform = "boron"
    @Flag(name: .long, help: "Print JSON.") var json = false

    struct Result: Codable {
        var devices: Int
        var oneSeconds: Double
        var manySeconds: Double
        var ratio: Double
        var peakResidentBytes: Int
        var emulatedDevicesBytes: Int
        var stationPeakBytes: Int
        var allPassed: Bool
    }

    func validate() throws {
        guard (1...64).contains(devices) else { throw ValidationError("--devices must be 1 to 64.") }
        guard PlatformCatalog.bundled.platform(named: platform)?.isProvisionable == true else { throw ValidationError("--platform '\(platform)' is not provisionable.") }
    }

    func run() async throws {
        let target = PlatformCatalog.bundled.platform(named: platform)!
        let lineOS = target.generation == 2 ? "2.3.1" : "6.2.0", factoryOS = target.generation == 2 ? "1.1.0" : "5.9.0"
        let files = try DemoFirmware.release(target, deviceOS: lineOS, product: (4242, 1))
        let manifest = try FirmwareManifest.create(name: "bench", files: files.map { ($0.name, Array($0.module.bytes)) })
        let one = try await Self.pass(count: 1, platform: target, factoryOS: factoryOS, manifest: manifest)
        let many = try await Self.pass(count: devices, platform: target, factoryOS: factoryOS, manifest: manifest)
        let result = Result(devices: devices, oneSeconds: one.seconds, manySeconds: many.seconds, ratio: many.seconds / one.seconds,
                            peakResidentBytes: many.peak, emulatedDevicesBytes: many.deviceBytes, stationPeakBytes: max(0, many.peak - many.deviceBytes),
                            allPassed: one.passed && many.passed)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(result), as: UTF8.self))
        } else {
            print(String(format: "one device: %.2f s; %d devices at once: %.2f s; ratio %.3f (target <= 1.3)", result.oneSeconds, devices, result.manySeconds, result.ratio))
            print("peak resident \(result.peakResidentBytes / 1_048_576) MiB, of which the emulated devices \(result.emulatedDevicesBytes / 1_048_576) MiB: "
                  + "the station \(result.stationPeakBytes / 1_048_576) MiB (target <= 64 MiB)")
            print(result.allPassed ? "every device passed" : "NOT every device passed")
        }
        if !result.allPassed { throw StationExitCode.failed.exitCode }
    }

    static func pass(count: Int, platform: Platform, factoryOS: String, manifest: FirmwareManifest) async throws -> (seconds: Double, peak: Int, deviceBytes: Int, passed: Bool) {
        let before = Memory.resident()
        var specs: [(BenchDevice, [FirmwareModule])] = []
        for _ in 0..<count {
            var profile = TestIdentities.profile()
            profile.simActive = true
            profile.cloudConnectDelay = .seconds(600)
            let spec = BenchDevice(platform: platform, mode: .normal, profile: profile, deviceOS: factoryOS, preload: [.deviceOS])
            specs.append((spec, try spec.modules(files: [:])))
        }
        // The emulated flash is written out (0xFF) when a device is made: resident from here.
        let bench = try EmulatedBench(specs, physical: true)
        let deviceBytes = max(0, Memory.resident() - before)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bench-line-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try StationStore(path: folder.appendingPathComponent("station.sqlite").path)
        let driver = BenchDriver(policy: BenchPolicy(),
                                 provisioner: Provisioner(link: bench, manifests: [platform.name: manifest], clock: ContinuousClock(), switchWithin: .seconds(120)),
                                 link: bench, log: StoreLog(store: store, stationID: "bench-line"), clock: ContinuousClock())
        let feed = Task { for await event in bench.events { await driver.hardware(event) } }
        Memory.resetPeak()
        let clock = ContinuousClock()
        let start = clock.now
        for index in 0..<count {
            await bench.plug(index)
            await driver.scanned(specs[index].0.profile.serial?.rawValue ?? "")
        }
        while true {
            let jobs = await driver.jobs
            if jobs.count == count, jobs.allSatisfy({ !$0.step.isActive }) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        let elapsed = start.duration(to: clock.now)
        let peak = Memory.peak()
        let passed = await driver.jobs.allSatisfy { $0.step == .passed }
        feed.cancel()
        await bench.stop()
        return (elapsed.inSeconds, peak, deviceBytes, passed)
    }
}

/// This process's resident memory, from /proc (Linux).
enum Memory {
    static func field(_ name: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }),
              let kib = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return 0 }
        return kib * 1024
    }
    static func resident() -> Int { field("VmRSS") }
    static func peak() -> Int { field("VmHWM") }
    /// Resets VmHWM to the current resident size (`clear_refs` 5).
    static func resetPeak() { try? Data("5".utf8).write(to: URL(fileURLWithPath: "/proc/self/clear_refs")) }
}
