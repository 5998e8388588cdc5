import ArgumentParser
import Curl
import DFU
import DeviceEmulator
import FakeParticleCloud
import FirmwareModules
import Foundation
import ImportQueue
import ParticleCloud
import ParticleDevices
import Seams
import Station
import StationConfig
import StationStore

/// `station demo`: the station's main job on an embedded default.
///
/// What exists today runs for real: a Device OS 6.2.0-shaped module set made with the
/// project's own module writer is planned against what an emulated factory device holds,
/// flashed over the DFU engine, read back and verified, boot-validated, and the device leaves
/// DFU mode; the passed device is queued in a station store and imported (with its SIM)
/// into a product on a fake Particle cloud over real HTTP on loopback. The listening-mode
/// guard, identify and sticker pairing join as their issues land.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the station on an embedded default: emulated bench and loopback fake cloud.")

    @Option(name: .long, help: "Platform of the emulated device (boron, bsom, b5som, esomx, tracker, electron).")
    var platform = "boron"

    @Flag(name: .long, help: "Pay the physical flash and USB times (takes about half a minute).")
    var physical = false

    func validate() throws {
        guard PlatformCatalog.bundled.platform(named: platform)?.isProvisionable == true else {
            let names = PlatformCatalog.bundled.provisionable.map(\.name).joined(separator: ", ")
            throw ValidationError("'\(platform)' is not a platform the station provisions; choose one of: \(names).")
        }
    }

    func run() async throws {
        let target = PlatformCatalog.bundled.platform(named: platform)!
        print("station demo: an emulated \(target.displayName) (platform \(target.id)) in DFU mode, firmware made by the station's module writer")
        let set = try EmulatedFlash.demoSet(for: target, scale: physical ? 1 : 0.25)
        let timing: FlashTiming = physical ? (target.mcu == .stm32f205 ? .stm32f205 : .nrf52840) : .instant
        let bench = try EmulatedFlash(platform: target, timing: timing, preload: set.preload)
        print("factory state: " + (await bench.device.bootReport().bootable ? "bootable" : "bootloader only, not bootable"))
        let prepared: PreparedFlash
        do {
            prepared = try await bench.plan(set.flash, expectedProductID: 12_345)
        } catch let refusal as PlanRefusal {
            print("FAIL [\(refusal.code)]: \(refusal.description)")
            throw StationExitCode.software.exitCode
        }
        print("\nplan (dependencies checked against the final image: radio stack and system part require each other):")
        for step in prepared.plan.steps { print("  \(step.name): 0x\(String(step.address, radix: 16)), \(step.bytes.count) bytes: \(step.reason)") }
        let clock = ContinuousClock()
        let start = clock.now
        let outcomes: [StepOutcome]
        do {
            outcomes = try await bench.run(prepared)
        } catch let error as DFUError {
            print("FAIL [\(error.code)]: \(error.description)")
            throw StationExitCode.failed.exitCode
        }
        let elapsed = start.duration(to: clock.now)
        print("\nflashed and verified by read-back in \(elapsed.formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow))):")
        for outcome in outcomes {
            let text = switch outcome.action {
            case .written(let erased, _): "\(erased) pages erased, written, read back and verified"
            case .skipped: "already byte-identical, skipped"
            case .deferredToControlRequest: "left for the control-request update"
            }
            print("  \(outcome.step.name): \(text)")
        }
        let again = try await bench.run(try await bench.plan(set.flash))
        print("flashing the same content again: " + (again.allSatisfy { $0.action == .skipped } ? "every module already byte-identical, skipped" : "NOT skipped"))
        let report = await bench.device.bootReport()
        print("\nboot validation:\n" + report.description.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        let left = try await bench.session.leave()
        print("left DFU mode: \(left)")
        let imported = try await Self.importIntoFakeCloud(deviceID: "e00fce68ae40e8a1f5b4c2d3", platform: target)
        print("""

            Not yet in this build (each lands with its issue): identify and the no-cloud guard, \
            sticker pairing, and the per-slot PASS/FAIL screen.
            """)
        let pass = report.bootable && again.allSatisfy { $0.action == .skipped } && imported
        print(pass ? "demo: PASS" : "demo: FAIL")
        if !pass { throw StationExitCode.failed.exitCode }
    }

    /// The passed device goes into a station store's import queue, and the sync worker imports
    /// it (and its SIM) into a product on a fake Particle cloud over real HTTP on loopback.
    static func importIntoFakeCloud(deviceID: String, platform: Platform) async throws -> Bool {
        let cloud = FakeParticleCloud()
        let token = (0..<40).map { _ in String(Int.random(in: 0..<16), radix: 16) }.joined()
        cloud.addProduct(.init(id: 12_345, slug: "demo-product", platformID: Int(platform.id.rawValue), plan: .paid, owner: "factory"))
        cloud.addToken(token, .init(name: "factory"))
        var profile = TestIdentities.profile()
        profile.deviceID = try DeviceID(deviceID)
        cloud.manufacture(.init(deviceID: deviceID, platformID: Int(platform.id.rawValue), serial: profile.serial?.rawValue, iccid: profile.iccid?.rawValue))
        let server = try cloud.serve()
        defer { server.stop() }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("station-demo-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try StationStore(path: folder.appendingPathComponent("station.sqlite").path)
        try store.enqueue(DeviceRecord(deviceID: deviceID, serial: profile.serial?.rawValue, iccid: profile.iccid?.rawValue,
                                       platformID: Int(platform.id.rawValue), stationID: "demo"), importSIM: true)
        print("\nqueued for import into product 12345 (store \(store.path)); syncing with a fake Particle cloud at \(server.baseURL)")
        let worker = SyncWorker(
            store: store, product: ParticleCloudClient(transport: CurlHTTPTransport(), baseURL: server.baseURL, token: Token(token)), testAccount: nil,
            settings: .init(product: ProductKey("12345"), giveUpAfter: .seconds(10)))
        let report = try await worker.run()
        let sim = profile.iccid.flatMap { cloud.sim($0.rawValue) }
        let inProduct = cloud.members(of: 12_345).contains(deviceID)
        print("import: \(report.requests) request(s), \(report.imported) imported; the cloud lists it in the product: \(inProduct ? "yes" : "NO"); "
              + "its SIM \(profile.iccid?.rawValue ?? "-") is \(sim?.state.rawValue ?? "unknown")")
        return report.stop == .drained && inProduct && sim?.state == .active
    }
}
