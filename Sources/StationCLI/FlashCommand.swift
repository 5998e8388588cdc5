import ArgumentParser
import ControlRequests
import DFU
import DeviceEmulator
import EmulatedBench
import FirmwareModules
import Foundation
import LibUSB
import ParticleDevices
import Station
import Synchronization

/// `station flash (--emulate PLATFORM | --port PATH | --device ID) [--preload FILE ...] FILE...`
struct FlashCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flash",
        abstract: "Flash module files into a device in DFU mode (real, or in-process emulated with --emulate).",
        discussion: """
            Reads what the device already holds (DFU upload), prints the plan (each module: \
            action, address, size, reason), progress per module and the verification result \
            (every module read back and compared), then leaves DFU mode. Exit 65 when the plan \
            is refused (nothing is written), 1 when flashing fails, 69 when the device is not there.
            """)

    @Option(name: .long, help: "Emulate a device of this platform (boron, bsom, b5som, esomx, tracker, electron).")
    var emulate: String?

    @Option(name: .long, help: "The real device at this USB port path (e.g. 1-1.3). Repeat to flash several devices at once; each line of output then starts with the port.")
    var port: [String] = []

    @Option(name: .long, help: "The real device with this device ID.")
    var device: String?

    @Option(name: .long, help: "Record every control transfer to this JSON file (for a bug report or a regression test).")
    var record: String?

    @Option(name: .long, help: "With --emulate: a module the device already holds (repeatable); NCP modules go to its co-processor.")
    var preload: [String] = []

    @Option(name: .long, help: "The product ID the application must carry (checked when the module has a real one).")
    var productID: UInt16?

    @Flag(name: .long, help: "With --emulate: pay the physical flash and USB times instead of running instantly.")
    var physical = false

    @Flag(name: .long, help: "Stay in DFU mode afterwards.")
    var stayInDFU = false

    @Flag(name: .long, help: "Flash a unit in Service Mode (Device Protection, opened by the cloud for rework). A protected unit is refused whatever this says.")
    var allowServiceMode = false

    @Argument(help: "Module files to flash.", completion: .file())
    var files: [String]

    func validate() throws {
        let kinds = [emulate != nil, !port.isEmpty, device != nil].filter { $0 }.count
        guard kinds == 1 else { throw ValidationError("Name the devices one way: --emulate PLATFORM, --port PATH (repeatable) or --device ID.") }
        guard Set(port).count == port.count else { throw ValidationError("--port: each port once.") }
        if port.count > 1 && record != nil { throw ValidationError("--record takes one device: name one --port.") }
        if let emulate, PlatformCatalog.bundled.platform(named: emulate)?.isProvisionable != true {
            let names = PlatformCatalog.bundled.provisionable.map(\.name).joined(separator: ", ")
            throw ValidationError("--emulate '\(emulate)' is not a platform the station provisions; choose one of: \(names).")
        }
        if !preload.isEmpty && emulate == nil { throw ValidationError("--preload only applies to --emulate.") }
        if let device, (try? DeviceID(device)) == nil { throw ValidationError("--device '\(device)' is not a 24-character hex device ID.") }
    }

    func run() async throws {
        let modules = try files.map { PlannedModule(name: $0, module: try Self.load($0)) }
        if let emulate {
            let platform = PlatformCatalog.bundled.platform(named: emulate)!
            let bench: EmulatedFlash
            do {
                bench = try await EmulatedFlash(platform: platform, timing: physical ? (platform.mcu == .stm32f205 ? .stm32f205 : .nrf52840) : .instant,
                                          preload: try preload.map(Self.load))
            } catch let error as EmulatorError {
                throw CommandFailure(.dataError, "FLASH-FAILED", "\(error)")
            }
            print("emulated \(platform.displayName) (platform \(platform.id)) in DFU mode, device ID e00fce68ae40e8a1f5b4c2d3")
            try await flash(modules, session: bench.session, platform: platform, extra: bench.extra)
            let report = await bench.device.bootReport()
            print("\nboot validation:\n" + report.description.split(separator: "\n").map { "  " + $0 }.joined(separator: "\n"))
            if !report.bootable { throw StationExitCode.failed.exitCode }
            return
        }
        let bus: LibUSBBus
        do {
            bus = try LibUSBBus(logLevel: .none)
        } catch {
            throw CommandFailure(.unavailable, "FLASH-FAILED", "\(error)")
        }
        if port.count > 1 {
            // Several devices at once, each independent: one failing never stops another.
            let codes = await withTaskGroup(of: Int32.self) { group in
                for port in self.port {
                    group.addTask { await self.flashReal(modules, bus: bus, port: port, out: Output(prefix: "[\(port)] ")) }
                }
                return await group.reduce(into: [Int32]()) { $0.append($1) }
            }
            if let worst = codes.filter({ $0 != 0 }).max() { throw ExitCode(worst) }
            return
        }
        let code = await flashReal(modules, bus: bus, port: port.first, out: Output(prefix: ""))
        if code != 0 { throw ExitCode(code) }
    }

    /// One real device: open, inventory, plan, flash, verify, leave. Returns the exit status.
    func flashReal(_ modules: [PlannedModule], bus: LibUSBBus, port: String?, out: Output) async -> Int32 {
        if let summary = try? await RealDFUDevice.select(bus: bus, port: port, deviceID: device),
           PlatformCatalog.bundled.platform(usbProductID: summary.productID)?.mode == .normal {
            return await flashNormal(modules, bus: bus, summary: summary, out: out)
        }
        let target: RealDFUDevice
        do {
            target = try await RealDFUDevice.open(bus: bus, port: port, deviceID: device, record: record != nil)
        } catch {
            out.fail(CommandFailure.from(error)?.description ?? "FAIL: \(error)")
            return StationExitCode.unavailable.rawValue
        }
        out.say("\(target.platform.displayName) (platform \(target.platform.id)) in DFU mode at \(target.port)")
        do {
            try await flash(modules, session: target.session, platform: target.platform, extra: [], out: out)
            if !stayInDFU { out.say("left DFU mode: \(try await target.session.leave())") }
        } catch {
            await target.saveRecording(to: record)
            if let code = error as? ExitCode { return code.rawValue }
            out.fail(CommandFailure.from(error)?.description ?? "FAIL: \(error)")
            return StationExitCode.failed.rawValue
        }
        await target.saveRecording(to: record)
        return 0
    }

    /// A device in normal mode: `NormalModeFlash` does the work (listening mode, module info,
    /// the plan, the control-request steps verified after the reset, setup-done, DFU mode for
    /// the rest); this prints its events and writes the DFU steps it leaves.
    func flashNormal(_ modules: [PlannedModule], bus: LibUSBBus, summary: USBDeviceSummary, out: Output) async -> Int32 {
        guard let platform = PlatformCatalog.bundled.platform(usbProductID: summary.productID)?.platform else {
            out.fail("FAIL: 2b04:\(String(summary.productID, radix: 16)) is not a platform the station flashes.")
            return StationExitCode.unavailable.rawValue
        }
        let portPath = summary.portPath
        out.say("\(platform.displayName) (platform \(platform.id)) in normal mode at \(portPath)")
        let outcome: NormalModeFlash<ContinuousClock>.Outcome
        do throws(NormalModeFlash<ContinuousClock>.Failure) {
            outcome = try await NormalModeFlash(clock: ContinuousClock(), allowServiceMode: allowServiceMode).run(
                modules, platform: platform, expectedProductID: productID,
                connect: {
                    let transport = try await bus.open(portPath: portPath, retry: OpenRetry(attempts: 1))
                    return ControlRequests(channel: ControlChannel(transport: transport, clock: ContinuousClock()))
                },
                openDFU: { deviceID in try? await RealDFUDevice.open(bus: bus, port: nil, deviceID: deviceID, record: false).session },
                events: { Self.report($0, out: out) })
        } catch {
            switch error {
            case .refused(let refusal):
                out.fail("REFUSED [\(refusal.code)]: \(refusal.description)")
                return StationExitCode.dataError.rawValue
            case .notBackInDFU:
                out.fail("FAIL: \(error.description)")
                return StationExitCode.unavailable.rawValue
            case .unreachable(let cause):
                out.fail(CommandFailure.from(cause)?.description ?? "FAIL [\(error.code)]: \(error.description)")
                return StationExitCode.failed.rawValue
            case .update, .enterDFU:
                out.fail("FAIL [\(error.code)]: \(error.description)")
                return StationExitCode.failed.rawValue
            }
        }
        guard case .dfu(_, let session, let dfuModules) = outcome else {
            out.say("done: the device stays in listening mode (off the cloud)")
            return 0
        }
        do {
            try await flash(dfuModules, session: session, platform: platform, extra: [], out: out, controlRequestsRan: true)
            if !stayInDFU { out.say("left DFU mode: \(try await session.leave())") }
        } catch {
            if let code = error as? ExitCode { return code.rawValue }
            out.fail(CommandFailure.from(error)?.description ?? "FAIL: \(error)")
            return StationExitCode.failed.rawValue
        }
        return 0
    }

    /// What the normal-mode flash reports, as `station flash` prints it.
    static func report(_ event: NormalModeFlash<ContinuousClock>.Event, out: Output) {
        switch event {
        case .listening:
            out.say("put in listening mode (kept off the cloud)")
        case .protection(let state):
            out.say(Self.protectionLine(state))
        case .planned(let plan, _):
            out.say("\nplan:")
            for step in plan.steps {
                let action = step.path == .dfu ? "write over DFU (after switching to DFU mode)" : "control request (normal mode)"
                out.say("  \(step.name): \(action), \(step.bytes.count) bytes: \(step.reason)")
            }
            out.say("")
        case .update(.started(let step, let index, let count)): out.say("[\(index + 1)/\(count)] \(step)")
        case .update(.sent(_, let bytes, let total)) where bytes == total: out.say("      sent: \(total) bytes (control requests 250/253/251)")
        case .update(.resetting): out.say("      the device resets and applies it")
        case .update(.verified(_, let module)): out.say("      verified by module info: \(module.function.name) #\(module.index) v\(module.version), valid")
        case .update: break
        case .setupDone(let release, let platform):
            out.say("setup done set (Device OS \(release) on \(platform) would otherwise boot into listening mode)")
        case .switchingToDFU:
            out.say("switching to DFU mode for the remaining modules")
        }
    }

    /// What `station flash` says of a unit's Device Protection before it plans.
    static func protectionLine(_ state: DeviceProtection) -> String {
        switch state {
        case .open: "Device Protection: open"
        case .service: "Device Protection: Service Mode; flashed because --allow-service-mode is given"
        case .protected: "Device Protection: protected"
        }
    }

    /// `DFUFlash` (inventory, plan, write, verify), each stage printed.
    /// - Parameter controlRequestsRan: the plan's control-request steps already ran in normal
    ///   mode (false: a device flashed in DFU mode only).
    func flash(_ modules: [PlannedModule], session: DfuSeSession, platform: Platform, extra: [FlashPlanner.Installed], out: Output = Output(prefix: ""),
               controlRequestsRan: Bool = false) async throws {
        let progress = ProgressPrinter(out: out)
        // Said once the plan is made (every check passed), for a unit that said its state.
        let protection = controlRequestsRan ? nil : DeviceProtection.reported(by: session)
        let outcomes: [StepOutcome]
        do throws(DFUFlash.Failure) {
            outcomes = try await DFUFlash.run(modules, session: session, platform: platform, extra: extra, expectedProductID: productID,
                                              controlRequestsFollow: controlRequestsRan, allowServiceMode: allowServiceMode) { event in
                switch event {
                case .planned(let plan):
                    if let protection { out.say(Self.protectionLine(protection)) }
                    out.say("\nplan:")
                    for step in plan.steps {
                        let action = step.path == .dfu ? "write over DFU" : "control request (normal mode)"
                        out.say("  \(step.name): \(action) at 0x\(String(step.address, radix: 16)), \(step.bytes.count) bytes: \(step.reason)")
                    }
                    out.say("")
                case .flash(let event):
                    progress.handle(event)
                }
            }
        } catch {
            if case .refused = error {
                out.fail("REFUSED [\(error.code)]: \(error.description)")
                throw StationExitCode.dataError.exitCode
            }
            out.fail("FAIL [\(error.code)]: \(error.description)")
            throw StationExitCode.failed.exitCode
        }
        out.say("\nverification:")
        for outcome in outcomes {
            let result = switch outcome.action {
            case .skipped: "already on the device, byte-identical: skipped"
            case .written(let erased, _): "written (\(erased) pages erased), read back and verified"
            case .deferredToControlRequest: "not written here: needs the control-request update in normal mode"
            }
            out.say("  \(outcome.step.name): \(result)")
        }
    }

    static func load(_ path: String) throws -> FirmwareModule {
        let data = try CommandFailure.read(path, what: "module file")
        do {
            return try FirmwareModule(bytes: [UInt8](data))
        } catch {
            throw CommandFailure(.dataError, error.code, "\(path): \(error.description)")
        }
    }
}

/// Standard output for one device: with several at once, every line starts with its port.
/// Failures go to standard error.
struct Output: Sendable {
    let prefix: String
    func say(_ text: String) {
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) { print(prefix + line) }
    }
    func fail(_ text: String) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { prefix + $0 }.joined(separator: "\n")
        FileHandle.standardError.write(Data((lines + "\n").utf8))
    }
}

/// Progress within each phase: on a terminal one line rewritten in place (bytes, %, rate),
/// as dfu-util's bar; otherwise plain lines at each quarter and at the end of a phase.
final class ProgressPrinter: Sendable {
    let out: Output
    let live: Bool
    struct Phase {
        var name = ""
        var started = ContinuousClock.now
        var quarter = 0
    }
    let phase = Mutex(Phase())

    init(out: Output, live: Bool = isatty(STDOUT_FILENO) == 1) {
        self.out = out
        self.live = live && out.prefix.isEmpty
    }

    func handle(_ event: FlashEvent) {
        switch event {
        case .stepStarted(let index, let count, let step):
            out.say("[\(index + 1)/\(count)] \(step.name)")
        case .phase(_, let name, let done, let total):
            let now = ContinuousClock.now
            let (line, finished, print) = phase.withLock { state -> (String, Bool, Bool) in
                if state.name != name || done == 0 { state = Phase(name: name, started: now, quarter: 0) }
                let seconds = Double((now - state.started).components.attoseconds) / 1e18 + Double((now - state.started).components.seconds)
                let rate = seconds > 0.05 ? Double(done) / seconds / 1024 : 0
                let percent = total == 0 ? 100 : Int(Double(done) * 100 / Double(total))
                let text = "      \(name): \(done)/\(total) bytes (\(percent)%)" + (rate > 0 ? String(format: ", %.1f KiB/s", rate) : "")
                let quarter = total == 0 ? 4 : Int(Double(done) * 4 / Double(total))
                let due = quarter > state.quarter
                if due { state.quarter = quarter }
                return (text, done >= total, due)
            }
            if live {
                FileHandle.standardOutput.write(Data(("\r\u{1B}[K" + line + (finished ? "\n" : "")).utf8))
            } else if print && (finished || done > 0) {
                out.say(line)
            }
        case .stepFinished:
            break
        }
    }
}
