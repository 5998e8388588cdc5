import ArgumentParser
import DeviceEmulator
import FakeParticleCloud
import FirmwareModules
import Foundation
import ParticleDevices
import Station
import Zlib

/// `station lab ...`: what the virtual bench runs inside its VM.
struct LabCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lab", abstract: "Virtual-bench helpers (run inside the lab VM; see lab/README.md).",
        subcommands: [LabServeCommand.self, LabImageCommand.self, LabFirmwareCommand.self, LabFuzzSeedsCommand.self, LabBenchChildCommand.self])
}

/// `station lab serve --device PLATFORM:MODE ...`: serves emulated devices over USB/IP on
/// 127.0.0.1 until killed; `usbip attach -r 127.0.0.1 -b 1-N` puts device N on the bus.
struct LabServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve emulated devices over USB/IP on loopback until killed.")

    @Option(name: .long, help: """
        PLATFORM:MODE[:FAULT,...], e.g. boron:dfu or boron:dfu:unplug@5 (repeatable). Modes: dfu, normal, \
        listening. Bus IDs are 1-1, 1-2, ... in order. Faults: unplug@N, stall@N, status@N, lying@N, hang@N \
        (N = data chunk), powerloss@N (N = erase).
        """)
    var device: [String] = []

    @Option(name: .long, help: "A device spec file ([[device]] tables; see lab/README.md) instead of --device.")
    var spec: String?

    @Option(name: .long, help: "TCP port (USB/IP's 3240 by default).")
    var port: UInt16 = 3240

    @Option(name: .long, help: "Also serve a fake Particle cloud on this loopback port, knowing every served device and its SIM.")
    var cloudPort: UInt16?
    @Option(name: .long, help: "A product of the fake cloud, ID:PLATFORM (repeatable), e.g. 4242:boron.")
    var cloudProduct: [String] = []
    @Option(name: .long, help: "The token the fake cloud accepts (for all its products).")
    var cloudToken: String?
    @Option(name: .long, help: "A test account's token the fake cloud also accepts (sandbox SIM activation and claims, for a connectivity line).")
    var cloudTestToken: String?

    @Flag(name: .long, help: "Pay the physical flash and USB times.")
    var physical = false

    func validate() throws {
        guard device.isEmpty != (spec == nil) else { throw ValidationError("Name the devices with --device PLATFORM:MODE (repeatable) or with --spec FILE.") }
        for text in device { _ = try Self.parse(text, index: 0) }
    }

    /// `boron:dfu[:unplug@5,...]` → a bench device with the bootloader preloaded.
    static func parse(_ text: String, index: Int) throws -> (device: BenchDevice, modules: [FirmwareModule]) {
        let parts = text.split(separator: ":")
        guard parts.count == 2 || parts.count == 3, let platform = PlatformCatalog.bundled.platform(named: String(parts[0])), platform.isProvisionable else {
            throw ValidationError("--device '\(text)': expected PLATFORM:MODE with a platform the station provisions, e.g. boron:dfu.")
        }
        guard let mode = DeviceProfile.Mode(rawValue: String(parts[1])) else {
            throw ValidationError("--device '\(text)': mode must be dfu, normal or listening.")
        }
        var profile = TestIdentities.profile()
        profile.deviceID = try DeviceID(String(format: "e00fce68ae40e8a1f5b4%04x", index + 1))
        let device = BenchDevice(platform: platform, mode: mode, profile: profile, faults: parts.count == 3 ? try faults(String(parts[2])) : [])
        return (device, try device.modules(files: [:]))
    }
    /// `usbip attach` for a bus ID of this server (the lab runs as root inside the VM).
    /// Plugs a re-enumerated device back in (USB/IP attach), retried while vhci is still
    /// busy with this or another device leaving (several devices switch modes at once on a
    /// bench). Runs on its own thread: it waits for child processes.
    static func attach(_ busID: String) async -> String {
        await withCheckedContinuation { continuation in
            let thread = Thread {
                var last = "not tried"
                for attempt in 1...12 {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: "/usr/sbin/usbip")
                    process.arguments = ["attach", "-r", "127.0.0.1", "-b", busID]
                    do {
                        try process.run()
                        process.waitUntilExit()
                        if process.terminationStatus == 0 {
                            continuation.resume(returning: attempt == 1 ? "attached" : "attached (try \(attempt))")
                            return
                        }
                        last = "usbip attach exited \(process.terminationStatus)"
                    } catch {
                        last = "usbip attach failed: \(error.localizedDescription)"
                    }
                    usleep(500_000)
                }
                continuation.resume(returning: "NOT attached: \(last), 12 tries; the device stays unplugged")
            }
            thread.start()
        }
    }

    /// `unplug@5,stall@3` → faults (`Fault.list(spec:)`).
    static func faults(_ text: String) throws -> [Fault] {
        do { return try Fault.list(spec: text) } catch { throw ValidationError(error.description) }
    }

    func run() async throws {
        // The bench outlives its clients: a write to one that went away is an error on that
        // connection, never the end of the process.
        signal(SIGPIPE, SIG_IGN)
        let bench: [(device: BenchDevice, modules: [FirmwareModule])]
        if let spec {
            do {
                bench = try LabSpecFile.load(spec)
            } catch {
                say("FAIL: \(error)")
                throw StationExitCode.dataError.exitCode
            }
        } else {
            bench = try device.enumerated().map { try Self.parse($0.element, index: $0.offset) }
        }
        let server = try USBIPServer(port: port)
        var served: [Served] = []
        for (index, (spec, modules)) in bench.enumerated() {
            let platform = spec.platform
            let item = Served(busID: "1-\(index + 1)", unit: try EmulatedUnit(spec, modules: modules, physical: physical, clock: ContinuousClock()))
            // Powered on by the host's import (`usbip attach`), not before.
            await item.unit.plugIn()
            if let personality = await item.unit.current { server.add(personality, busID: item.busID) }
            served.append(item)
            say("serving \(item.busID) \(platform.name) \(spec.mode.rawValue) \(spec.profile.deviceID)\(spec.attachAtStart ? "" : " attach-by-scenario")"
                + (spec.profile.protection == .open ? "" : " protection=\(spec.profile.protection.rawValue)"))
            let p = spec.profile
            say("identity \(item.busID) serial=\(p.serial?.rawValue ?? "-") iccid=\(p.iccid?.rawValue ?? "-") imei=\(p.imei?.rawValue ?? "-") "
                + "os=\(spec.deviceOS) sim=\(p.simActive ? "active" : "inactive") cloud-delay=\(p.cloudConnectDelay.components.seconds)s")
        }
        // The fake cloud: its products, every served device and SIM as manufactured; its
        // state is written to /tmp/lab-cloud.json twice a second for scenarios to compare.
        var cloudServer: LoopbackHTTPServer?
        var fakeCloud: FakeParticleCloud?
        if let cloudPort {
            let cloud = FakeParticleCloud()
            fakeCloud = cloud
            if let cloudToken { cloud.addToken(cloudToken, .init(name: "lab-factory")) }
            if let cloudTestToken { cloud.addToken(cloudTestToken, .init(name: "lab-test-account")) }
            var productIDs: [Int] = []
            for text in cloudProduct {
                let parts = text.split(separator: ":")
                guard parts.count == 2, let id = Int(parts[0]), let platform = PlatformCatalog.bundled.platform(named: String(parts[1])) else {
                    throw ValidationError("--cloud-product '\(text)': expected ID:PLATFORM, e.g. 4242:boron")
                }
                cloud.addProduct(.init(id: id, slug: "lab-\(id)", platformID: Int(platform.id.rawValue), plan: .paid, owner: "lab-factory"))
                productIDs.append(id)
            }
            for (spec, _) in bench {
                cloud.manufacture(.init(deviceID: spec.profile.deviceID.rawValue, platformID: Int(spec.platform.id.rawValue),
                                        serial: spec.profile.serial?.rawValue, iccid: spec.profile.iccid?.rawValue))
            }
            cloudServer = try cloud.serve(port: cloudPort)
            say("cloud on 127.0.0.1:\(cloudPort), products \(productIDs)")
            let devices = bench.map { (id: $0.0.profile.deviceID.rawValue, iccid: $0.0.profile.iccid?.rawValue) }
            Task {
                while true {
                    var members: [String: [String]] = [:]
                    for id in productIDs { members[String(id)] = cloud.members(of: id).sorted() }
                    var owners: [String: String] = [:], sims: [String: String] = [:]
                    for device in devices {
                        if let owner = cloud.owner(of: device.id) { owners[device.id] = owner }
                        if let iccid = device.iccid, let sim = cloud.sim(iccid) { sims[iccid] = sim.state.rawValue }
                    }
                    let state: [String: Any] = ["members": members, "calls": cloud.ledger.count, "online": devices.map(\.id).filter(cloud.isOnline).sorted(),
                                                "owners": owners, "sims": sims]
                    if let data = try? JSONSerialization.data(withJSONObject: state, options: [.sortedKeys]) {
                        try? data.write(to: URL(fileURLWithPath: "/tmp/lab-cloud.json"), options: .atomic)
                    }
                    try? await Task.sleep(for: .milliseconds(500))
                }
            }
        }
        // Barcode scanners after the devices; a line written to /tmp/lab-scan is scanned.
        var scanners = 0
        if let spec {
            do {
                for kind in try LabSpecFile.scanners(spec) {
                    let busID = "1-\(served.count + scanners + 1)"
                    scanners += 1
                    if kind == "keyboard" {
                        let scanner = EmulatedKeyboardScanner()
                        server.add(scanner, busID: busID)
                        Self.listenForScans(fifo: "/tmp/lab-scan-keyboard") { text in Task { await scanner.scan(text) } }
                        say("serving \(busID) scanner keyboard 1209:0002")
                    } else {
                        let scanner = EmulatedSerialScanner()
                        server.add(scanner, busID: busID)
                        Self.listenForScans(fifo: "/tmp/lab-scan") { text in Task { await scanner.scan(text) } }
                        say("serving \(busID) scanner serial 1209:0001")
                    }
                }
            } catch {
                say("FAIL: \(error)")
                throw StationExitCode.dataError.exitCode
            }
        }
        say("ready on 127.0.0.1:\(server.port)")
        // Mode changes re-enumerate: leaving DFU boots the firmware (normal mode); 14400
        // baud on the serial port asks the firmware for DFU mode.
        while true {
            try await Task.sleep(for: .milliseconds(200))
            withExtendedLifetime(cloudServer) {}  // the fake cloud serves as long as the bench
            for item in served {
                if let normal = await item.unit.normal {
                    // The cloud log: the no-cloud guard's evidence.
                    let events = await normal.events
                    for event in events.dropFirst(item.eventsReported) {
                        say("cloud \(item.busID): \(event)")
                        // The emulator's "connected" moment is the fake cloud's device coming
                        // online (when the cloud has its SIM active).
                        if event.kind == .connected, let fakeCloud {
                            let online = fakeCloud.bringOnline(item.spec.profile.deviceID.rawValue)
                            say("cloud \(item.busID): \(online ? "online in the fake cloud" : "refused by the fake cloud: its SIM is not active there")")
                        }
                    }
                    item.eventsReported = events.count
                }
                // A reset (40, an accepted firmware update), safe mode (60) or DFU (50,
                // 14400 baud), or leaving DFU: the device left the bus; it comes back in
                // the new mode.
                let leaving = await item.unit.normal
                guard await item.unit.leftTheBus() else { continue }
                if let leaving {
                    for event in await leaving.events.dropFirst(item.eventsReported) { say("cloud \(item.busID): \(event)") }
                }
                item.eventsReported = 0
                guard let back = await item.unit.comeBack(), let personality = await item.unit.current else { continue }
                server.add(personality, busID: item.busID)
                switch back {
                case .dfuAfterReset:
                    say("re-enumerating \(item.busID) in DFU mode: \(await Self.attach(item.busID))")
                case .normalAfterReset(let reset, let applied):
                    for (module, error) in applied {
                        if let error {
                            say("update \(item.busID): NOT applied: \(error)")
                        } else {
                            say("update \(item.busID): applied \(module.header.function) #\(module.header.index) v\(module.header.version)")
                        }
                    }
                    say("re-enumerating \(item.busID) in normal mode after \(reset): \(await Self.attach(item.busID))")
                case .leftDFU(let report):
                    say("boot \(item.busID): \(report.bootable ? "bootable" : "NOT bootable")")
                    for line in report.description.split(separator: "\n") { say("boot \(item.busID):   \(line)") }
                    say("re-enumerating \(item.busID) in \(report.bootable ? "normal mode" : "DFU mode (not bootable)"): \(await Self.attach(item.busID))")
                }
            }
        }
    }

    /// Reads lines from a FIFO on a thread of its own and scans each.
    static func listenForScans(fifo: String, scan: @escaping @Sendable (String) -> Void) {
        unlink(fifo)
        guard mkfifo(fifo, 0o666) == 0 else {
            say("FAIL: cannot make the scan FIFO \(fifo): errno \(errno)")
            return
        }
        let thread = Thread {
            while true {
                // Opening blocks until a writer comes; each writer's lines are scans.
                guard let handle = FileHandle(forReadingAtPath: fifo) else { return }
                let text = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
                try? handle.close()
                for line in text.split(whereSeparator: \.isNewline) where !line.isEmpty {
                    let code = String(line)
                    scan(code)
                    say("scanned \(code)")
                }
            }
        }
        thread.name = "lab-scan"
        thread.start()
    }

    /// One served device (the personality it shows now is its unit's) and how much of its
    /// current personality's cloud log has been printed.
    final class Served: @unchecked Sendable {
        // Touched only by `run`'s loop.
        let busID: String
        let unit: EmulatedUnit<ContinuousClock>
        var spec: BenchDevice { unit.spec }
        var eventsReported = 0
        init(busID: String, unit: EmulatedUnit<ContinuousClock>) {
            self.busID = busID
            self.unit = unit
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
    @Option(name: .long, help: "The Device OS release the application requires (e.g. 6.2.0); without it, only a bootloader.")
    var requiresDeviceOS: String?
    @Option(name: .long, help: "Write a bootloader module of this module version instead of an application (for the control-request update).")
    var bootloader: UInt16?

    func run() async throws {
        guard let target = PlatformCatalog.bundled.platform(named: platform), target.isProvisionable else {
            throw ValidationError("--platform '\(platform)' is not a platform the station provisions.")
        }
        if let bootloader {
            let module = try ModuleFactory.bootloader(target, version: bootloader)
            try Data(module.bytes).write(to: URL(fileURLWithPath: out))
            say("\(out): bootloader v\(bootloader), \(module.size) bytes at 0x\(String(module.header.startAddress, radix: 16))")
            return
        }
        let slot = target.moduleSlots?.userParts.first { $0.legacy != true }
        let module = try FirmwareModule(bytes: ModuleWriter.write(ModuleSpec(
            header: ModuleHeader(startAddress: slot?.start ?? 0, endAddress: 0, version: 6, platformID: target.id.rawValue,
                                 function: .userPart, index: slot?.index ?? 1,
                                 dependency: try dependency(target)),
            payload: ModuleFactory.filler(size, seed: seed), product: (id: 12_345, version: 1))))
        try Data(module.bytes).write(to: URL(fileURLWithPath: out))
        say("\(out): \(module.size) bytes at 0x\(String(module.header.startAddress, radix: 16))")
    }

    func dependency(_ platform: Platform) throws -> ModuleDependency {
        guard let release = requiresDeviceOS else { return ModuleDependency(function: .bootloader, index: 0, version: 1) }
        guard let version = DeviceOSVersionTable.bundled.systemModuleVersion(forRelease: release) else {
            throw ValidationError("--requires-device-os '\(release)' is not a Device OS release the station knows (e.g. 6.2.0).")
        }
        return ModuleDependency(function: .systemPart, index: platform.generation == 2 ? 3 : 1, version: version)
    }
}

/// `station lab firmware`: a line's release folder made of demo firmware (the module writer's
/// Device OS modules and a product firmware) with its manifest, for scenarios and trials.
struct LabFirmwareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "firmware", abstract: "Write demo firmware and its manifest into a folder.")

    @Option(name: .long, help: "Platform.") var platform = "boron"
    @Option(name: .long, help: "Device OS release.") var deviceOS = "6.2.0"
    @Option(name: .long, help: "Product ID.") var product: UInt16 = 4242
    @Option(name: .long, help: "Product firmware version.") var version: UInt16 = 1
    @Option(name: .long, help: "Output folder.") var out: String
    @Flag(name: .long, help: "A product with Device Protection: the protected bootloader, and device_protection = true in the manifest.")
    var deviceProtection = false

    func run() async throws {
        guard let target = PlatformCatalog.bundled.platform(named: platform), target.isProvisionable else {
            throw ValidationError("--platform '\(platform)' is not a platform the station provisions.")
        }
        let folder = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let files = try DemoFirmware.release(target, deviceOS: deviceOS, product: (product, version), deviceProtection: deviceProtection)
        for file in files { try Data(file.module.bytes).write(to: folder.appendingPathComponent(file.name)) }
        let manifest = try FirmwareManifest.create(name: "demo \(platform) \(deviceOS)", files: files.map { ($0.name, Array($0.module.bytes)) },
                                                   deviceProtection: deviceProtection)
        try Data(manifest.file.toml.utf8).write(to: folder.appendingPathComponent("manifest.toml"))
        say("\(folder.appendingPathComponent("manifest.toml").path): \(files.count) modules, product \(product) v\(version)")
    }
}

/// `station lab fuzz-seeds DIR`: small modules of every kind the module writer makes, as the
/// module fuzz target's seeds (`fuzz/run`): each provisionable platform's bootloader, system
/// part, user part with product data, radio stack (DROP_MODULE_INFO) and NCP module where it
/// has one, each also compressed, plus combined files; payloads small so that fuzzing is fast.
struct LabFuzzSeedsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fuzz-seeds", abstract: "Write module seeds for the fuzz targets into a folder.")

    @Argument(help: "Output folder.") var out: String

    func run() async throws {
        let folder = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let codec = ZlibDeflateCodec()
        var count = 0
        func write(_ name: String, _ bytes: [UInt8]) throws {
            try Data(bytes).write(to: folder.appendingPathComponent(name))
            count += 1
        }
        for platform in PlatformCatalog.bundled.platforms where platform.isProvisionable {
            var modules: [(String, FirmwareModule)] = [
                ("bootloader", try ModuleFactory.bootloader(platform, version: 1200, size: 512)),
                ("system", try ModuleFactory.systemPart(platform, version: 6200, size: 768, dependencies: [ModuleDependency(function: .bootloader, index: 0, version: 1200)])),
                ("user", try ModuleFactory.userPart(platform, size: 256, requiresSystem: ModuleDependency(function: .systemPart, index: 1, version: 6200), product: (4242, 3))),
            ]
            if platform.moduleSlots?.radioStack != nil { modules.append(("radio", try ModuleFactory.radioStack(platform, version: 202, size: 0x2100))) }
            if platform.name.contains("tracker") { modules.append(("ncp", try ModuleFactory.ncp(platform, version: 7, size: 256))) }
            for (kind, module) in modules {
                try write("\(platform.name)-\(kind).bin", module.bytes)
                if let compressed = try? ModuleCompression.compress(module, codec: codec) { try write("\(platform.name)-\(kind).compressed.bin", compressed.bytes) }
            }
            try write("\(platform.name)-combined.bin", try CombinedModule.combine(modules.prefix(3).map(\.1)))
        }
        say("\(out): \(count) module seeds")
    }
}
