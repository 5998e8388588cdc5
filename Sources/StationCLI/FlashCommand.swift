import ArgumentParser
import DFU
import DeviceEmulator
import FirmwareModules
import Foundation
import ParticleDevices
import Station

/// `station flash --emulate PLATFORM [--preload FILE ...] FILE...`
struct FlashCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flash",
        abstract: "Flash module files into a device: today an in-process emulated one (--emulate).",
        discussion: """
            Prints the plan (each module: action, address, size, reason), progress per module, \
            and the verification result (every module read back and compared), then what the \
            device would boot. Exit 65 when the plan is refused (nothing is written), 1 when \
            flashing fails.
            """)

    @Option(name: .long, help: "Emulate a device of this platform (boron, bsom, b5som, esomx, tracker, electron).")
    var emulate: String

    @Option(name: .long, help: "A module the emulated device already holds (repeatable); NCP modules go to its co-processor.")
    var preload: [String] = []

    @Option(name: .long, help: "The product ID the application must carry (checked when the module has a real one).")
    var productID: UInt16?

    @Flag(name: .long, help: "Pay the physical flash and USB times (MCU datasheets, full-speed USB) instead of running instantly.")
    var physical = false

    @Argument(help: "Module files to flash.", completion: .file())
    var files: [String]

    func validate() throws {
        guard let platform = PlatformCatalog.bundled.platform(named: emulate), platform.isProvisionable else {
            let names = PlatformCatalog.bundled.provisionable.map(\.name).joined(separator: ", ")
            throw ValidationError("--emulate '\(emulate)' is not a platform the station provisions; choose one of: \(names).")
        }
    }

    func run() async throws {
        let platform = PlatformCatalog.bundled.platform(named: emulate)!
        let modules = try files.map { PlannedModule(name: $0, module: try Self.load($0)) }
        let preloaded = try preload.map(Self.load)
        let bench: EmulatedFlash
        do {
            bench = try EmulatedFlash(platform: platform, timing: physical ? (platform.mcu == .stm32f205 ? .stm32f205 : .nrf52840) : .instant, preload: preloaded)
        } catch {
            print("FAIL: \(error)")
            throw StationExitCode.dataError.exitCode
        }
        print("emulated \(platform.displayName) (platform \(platform.id)) in DFU mode, device ID e00fce68ae40e8a1f5b4c2d3")
        let prepared: EmulatedFlash.Prepared
        do {
            prepared = try await bench.plan(modules, expectedProductID: productID)
        } catch let refusal as PlanRefusal {
            print("REFUSED [\(refusal.code)]: \(refusal.description)")
            throw StationExitCode.dataError.exitCode
        }
        print("\nplan:")
        for step in prepared.plan.steps {
            let action = step.path == .dfu ? "write over DFU" : "control request (normal mode)"
            print("  \(step.name): \(action) at 0x\(String(step.address, radix: 16)), \(step.bytes.count) bytes: \(step.reason)")
        }
        print("")
        let progress = ProgressPrinter()
        do {
            let outcomes = try await bench.run(prepared) { progress.handle($0) }
            print("\nverification:")
            for outcome in outcomes {
                let result = switch outcome.action {
                case .skipped: "already on the device, byte-identical: skipped"
                case .written(let erased, _): "written (\(erased) pages erased), read back and verified"
                case .deferredToControlRequest: "not written here: needs the control-request update in normal mode"
                }
                print("  \(outcome.step.name): \(result)")
            }
        } catch let error as DFUError {
            print("\nFAIL [\(error.code)]: \(error.description)")
            throw StationExitCode.failed.exitCode
        }
        let report = await bench.device.bootReport()
        print("\nboot validation:\n" + report.description.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
        if !report.bootable { throw StationExitCode.failed.exitCode }
    }

    static func load(_ path: String) throws -> FirmwareModule {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            print("FAIL: cannot read \(path): \(error.localizedDescription)")
            throw StationExitCode.ioError.exitCode
        }
        do {
            return try FirmwareModule(bytes: [UInt8](data))
        } catch {
            print("FAIL [\(error.code)]: \(path): \(error.description)")
            throw StationExitCode.dataError.exitCode
        }
    }
}

/// Prints each phase of each module when it completes, so progress stays readable.
struct ProgressPrinter: Sendable {
    func handle(_ event: FlashEvent) {
        switch event {
        case .stepStarted(let index, let count, let step):
            print("[\(index + 1)/\(count)] \(step.name)")
        case .phase(_, let name, let done, let total) where done == total:
            print("      \(name): \(total) bytes")
        case .phase, .stepFinished:
            break
        }
    }
}
