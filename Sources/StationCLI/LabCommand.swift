import ArgumentParser
import DeviceEmulator
import FirmwareModules
import Foundation
import ParticleDevices

/// `station lab ...`: what the virtual bench runs inside its VM.
struct LabCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab", abstract: "Virtual-bench helpers (run inside the lab VM; see lab/README.md).",
        subcommands: [LabServeCommand.self, LabImageCommand.self])
}

/// `station lab serve --device PLATFORM:MODE ...`: serves emulated devices over USB/IP on
/// 127.0.0.1 until killed; `usbip attach -r 127.0.0.1 -b 1-N` puts device N on the bus.
struct LabServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve emulated devices over USB/IP on loopback until killed.")

    @Option(name: .long, help: """
        PLATFORM:MODE[:FAULT,...], e.g. boron:dfu or boron:dfu:unplug@5 (repeatable). Bus IDs are \
        1-1, 1-2, ... in order. Faults: unplug@N, stall@N, status@N, lying@N, hang@N (N = data chunk), \
        powerloss@N (N = erase).
        """)
    var device: [String]

    @Option(name: .long, help: "TCP port (USB/IP's 3240 by default).")
    var port: UInt16 = 3240

    @Flag(name: .long, help: "Pay the physical flash and USB times.")
    var physical = false

    func validate() throws {
        guard !device.isEmpty else { throw ValidationError("Name at least one --device PLATFORM:MODE.") }
        for spec in device {
            let parts = spec.split(separator: ":")
            guard parts.count == 2 || parts.count == 3, PlatformCatalog.bundled.platform(named: String(parts[0]))?.isProvisionable == true else {
                throw ValidationError("--device '\(spec)': expected PLATFORM:MODE with a platform the station provisions, e.g. boron:dfu.")
            }
            guard parts[1] == "dfu" else {
                throw ValidationError("--device '\(spec)': only dfu mode is emulated over USB/IP so far.")
            }
            if parts.count == 3 { _ = try Self.faults(String(parts[2])) }
        }
    }

    /// `usbip attach` for a bus ID of this server (the lab runs as root inside the VM).
    static func attach(_ busID: String) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/usbip")
        process.arguments = ["attach", "-r", "127.0.0.1", "-b", busID]
        do {
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus == 0 ? "attached" : "usbip attach exited \(process.terminationStatus)"
        } catch {
            return "usbip attach failed: \(error.localizedDescription)"
        }
    }

    /// `unplug@5,stall@3` → faults.
    static func faults(_ text: String) throws -> [Fault] {
        try text.split(separator: ",").map { item in
            let pieces = item.split(separator: "@")
            guard pieces.count == 2, let n = Int(pieces[1]), n > 0 else { throw ValidationError("fault '\(item)': expected NAME@N") }
            switch pieces[0] {
            case "unplug": return .unplugAfterChunk(n)
            case "stall": return .stallAtChunk(n)
            case "status": return .statusErrorAtChunk(n, .errWrite)
            case "lying": return .lyingStatusAtChunk(n)
            case "hang": return .hangAtChunk(n, .seconds(8))
            case "powerloss": return .powerLossAtErase(n)
            default: throw ValidationError("fault '\(item)': unknown; use unplug, stall, status, lying, hang or powerloss")
            }
        }
    }

    func run() async throws {
        let server = try USBIPServer(port: port)
        var served: [(String, EmulatedDFUDevice<ContinuousClock>)] = []
        for (index, spec) in device.enumerated() {
            let platform = PlatformCatalog.bundled.platform(named: String(spec.split(separator: ":")[0]))!
            let deviceID = String(format: "e00fce68ae40e8a1f5b4%04x", index + 1)
            let boot = platform.generation == 2 ? try ModuleFactory.bootloader(platform, version: 1006) : try ModuleFactory.bootloader(platform, version: 3100)
            let timing: FlashTiming = physical ? (platform.mcu == .stm32f205 ? .stm32f205 : .nrf52840) : .instant
            let parts = spec.split(separator: ":")
            let faults = parts.count == 3 ? try Self.faults(String(parts[2])) : []
            let emulated = try EmulatedDFUDevice(.init(platform: platform, deviceID: deviceID, timing: timing, faults: faults), clock: ContinuousClock(), preload: [boot])
            let busID = "1-\(index + 1)"
            server.add(emulated, busID: busID)
            served.append((busID, emulated))
            say("serving \(busID) \(platform.name) dfu \(deviceID)")
        }
        say("ready on 127.0.0.1:\(server.port)")
        // Report each device's boot validation when it leaves DFU mode, for the scenarios.
        var reported = Set<String>()
        while true {
            try await Task.sleep(for: .milliseconds(200))
            for (busID, emulated) in served where !reported.contains(busID) {
                guard await emulated.presence == .leftDFU else { continue }
                reported.insert(busID)
                let report = await emulated.bootReport()
                say("boot \(busID): \(report.bootable ? "bootable" : "NOT bootable")")
                for line in report.description.split(separator: "\n") { say("boot \(busID):   \(line)") }
                // The device resets into its firmware: it re-enumerates in normal mode.
                let platform = emulated.configuration.platform
                server.add(EmulatedNormalDevice(platform: platform, deviceID: emulated.configuration.deviceID), busID: busID)
                say("re-enumerating \(busID) in normal mode: \(Self.attach(busID))")
            }
        }
    }
}

/// Unbuffered, so a script waiting for a line sees it at once.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// `station lab image`: writes an application module made by the module writer, for the
/// peer benchmark (dfu-util writes the same file at its start address).
struct LabImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "image", abstract: "Write an application module for benchmarks.")

    @Option(name: .long, help: "Platform.") var platform = "boron"
    @Option(name: .long, help: "Payload size in bytes.") var size = 256 * 1024
    @Option(name: .long, help: "Filler seed (different seeds give different content).") var seed: UInt32 = 1
    @Option(name: .long, help: "Output file.") var out: String

    func run() async throws {
        guard let target = PlatformCatalog.bundled.platform(named: platform), target.isProvisionable else {
            throw ValidationError("--platform '\(platform)' is not a platform the station provisions.")
        }
        let slot = target.moduleSlots?.userParts.first { $0.legacy != true }
        let module = try FirmwareModule(bytes: ModuleWriter.write(ModuleSpec(
            header: ModuleHeader(startAddress: slot?.start ?? 0, endAddress: 0, version: 6, platformID: target.id.rawValue,
                                 function: .userPart, index: slot?.index ?? 1,
                                 dependency: ModuleDependency(function: .bootloader, index: 0, version: 1)),
            payload: ModuleFactory.filler(size, seed: seed), product: (id: 12_345, version: 1))))
        try Data(module.bytes).write(to: URL(fileURLWithPath: out))
        say("\(out): \(module.size) bytes at 0x\(String(module.header.startAddress, radix: 16))")
    }
}
