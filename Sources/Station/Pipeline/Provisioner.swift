import ControlRequests
import DFU
import Foundation
import FirmwareModules
import ListeningConsole
import ParticleDevices
import Seams

/// A failure of a pipeline step: the job's failure, and whether the device is gone (then
/// the job is interrupted, not failed).
public struct StepFailure: Error, Hashable, Sendable {
    public let failure: JobFailure
    public let deviceGone: Bool
    public init(_ code: String, _ message: String, deviceGone: Bool = false) {
        failure = JobFailure(code: code, message: message)
        self.deviceGone = deviceGone
    }

    /// Whether an error from a device-facing call means the device is gone (unplugged),
    /// decided by its typed cause, never by its text.
    public static func isGone(_ error: any Error) -> Bool {
        DeviceCause.of(error) == .noDevice
    }
}

/// What identify found.
public struct IdentifyOutcome: Hashable, Sendable {
    public let identity: DeviceIdentity
    public var job: JobIdentity { JobIdentity(identity) }
}

/// What the flash step did.
public struct FlashOutcome: Hashable, Sendable {
    public struct Written: Hashable, Sendable, Codable {
        public let file: String
        public let sha256: String
        public let bytes: Int
        /// `written`, `skipped` (read back byte-identical), `control-request`,
        /// `already-installed` (module info reports the same version; not planned).
        public let action: String
        public init(file: String, sha256: String, bytes: Int, action: String) {
            self.file = file
            self.sha256 = sha256
            self.bytes = bytes
            self.action = action
        }
    }
    public let written: [Written]
    /// True when the device is in DFU mode at the end (DFU steps ran).
    public let inDFU: Bool
}

/// The device-facing steps of the pipeline, over `DeviceLink`: identify, flash (control
/// requests for bootloader and NCP in normal mode, then DFU for the rest, verified by
/// read-back and module info) and finish (setup-done where needed, the final state, the
/// modules it holds at the end). The bench state machine decides when; this does the work.
public struct Provisioner<C: Clock<Duration>>: Sendable {
    public let link: any DeviceLink
    /// The line's manifests by platform name.
    public let manifests: [String: FirmwareManifest]
    public let clock: C
    /// How long a device may take to come back after a mode switch.
    public let switchWithin: Duration
    let identifier = DeviceIdentifier()

    public init(link: any DeviceLink, manifests: [String: FirmwareManifest], clock: C, switchWithin: Duration = .seconds(20)) {
        self.link = link
        self.manifests = manifests
        self.clock = clock
        self.switchWithin = switchWithin
    }

    /// Whether an error means the device left the bus: by its typed cause only (a STALL or
    /// a timeout is a device fault with its own code, not an unplug).
    public static func gone(_ error: any Error) -> Bool { StepFailure.isGone(error) }

    // MARK: Identify

    /// Identifies a device that arrived on `port` with `productID` in `mode`. A device in DFU
    /// mode is first started (it leaves DFU and boots), because its serial number, ICCID and
    /// IMEI are only readable in normal mode; one that does not come back is identified as
    /// far as DFU allows.
    public func identify(deviceID: String, port: String, productID: UInt16, inDFU: Bool) async throws(StepFailure) -> IdentifyOutcome {
        var start = identifier.start(port: port, productID: productID, usbSerial: deviceID)
        if inDFU {
            do {
                let session = try await link.dfu(deviceID, within: .seconds(2))
                guard let platform = start.platform.flatMap({ PlatformCatalog.bundled.platform(named: $0) }) else {
                    throw StepFailure("IDENTIFY-PLATFORM", "USB product ID 2b04:\(String(productID, radix: 16)) is not a platform the station knows")
                }
                let inventory = try await DeviceInventory.read(session, platform: platform, depth: .headers)
                start = identifier.identifyDFU(start, inventory: inventory)
                _ = try await session.leave()
            } catch let failure as StepFailure {
                throw failure
            } catch {
                throw StepFailure("IDENTIFY-DFU", "reading the device in DFU mode failed: \(error)", deviceGone: Self.gone(error))
            }
            start.mode = .normal
        }
        let requests: ControlRequests
        if inDFU {
            switch await bootAfterLeavingDFU(deviceID) {
            case .booted(let booted):
                requests = booted
            case .stayedInDFU where start.modules != nil:
                // No bootable firmware (e.g. a write cut short): it is back in DFU mode. What
                // DFU gave is all there is; the flash step writes it in DFU mode.
                start.notes.append("it did not boot into normal mode (no bootable firmware)")
                return IdentifyOutcome(identity: start)
            case .stayedInDFU, .gone:
                throw StepFailure("IDENTIFY-UNREACHABLE", "the device did not come back after leaving DFU mode. Replug it", deviceGone: true)
            }
        } else {
            do { requests = try await link.normal(deviceID, within: .seconds(5)) } catch {
                throw StepFailure("IDENTIFY-UNREACHABLE", "the device did not answer in normal mode: \(error). Replug it", deviceGone: true)
            }
        }
        let identity = await identifier.identifyNormal(start, requests: requests, openConsole: await link.console(deviceID))
        if identity.deviceID == nil || identity.deviceOSVersion == nil && identity.modules == nil {
            throw StepFailure("IDENTIFY-INCOMPLETE", "the device could not be identified (\(identity.notes.joined(separator: "; "))). Replug it and retry")
        }
        return IdentifyOutcome(identity: identity)
    }

    /// What a device did after it was told to leave DFU mode.
    enum Boot {
        case booted(ControlRequests)
        /// It re-enumerated in DFU mode (no bootable firmware), or never left.
        case stayedInDFU
        case gone
    }

    /// Waits (up to `switchWithin`) for a device that was told to leave DFU mode to boot into
    /// normal mode, and sees at once when it comes back in DFU mode instead.
    func bootAfterLeavingDFU(_ deviceID: String) async -> Boot {
        let deadline = Deadline(after: switchWithin, on: clock)
        var left = false
        while !deadline.hasPassed {
            switch await link.presence(deviceID) {
            case .normal:
                if let requests = try? await link.normal(deviceID, within: .seconds(2)) { return .booted(requests) }
            case .dfu:
                if left { return .stayedInDFU }
            case .absent:
                left = true
            }
            try? await clock.sleep(for: .milliseconds(50))
        }
        return left ? .gone : .stayedInDFU
    }

    // MARK: Flash

    /// Plans against what the device holds and writes what differs: control-request steps
    /// in normal mode first, then DFU mode for the rest. A device held in DFU mode (no
    /// bootable firmware, e.g. a write cut short by an unplug) gets its DFU steps first, then
    /// boots for the control-request steps. Everything is verified.
    public func flash(deviceID: String, platform name: String?, progress: @escaping @Sendable (Int, Int) -> Void) async throws(StepFailure) -> FlashOutcome {
        guard let name, let manifest = manifests[name] else {
            throw StepFailure("MANIFEST-NO-PLATFORM", "this line has no firmware manifest for \(name ?? "this platform"); set the device aside or add the platform's manifest")
        }
        let platform = manifest.platform
        var written: [FlashOutcome.Written] = []
        // The manifest pins each file's SHA-256 (checked when it was loaded): no re-hashing per device.
        let digests = Dictionary(manifest.file.modules.map { ($0.file, $0.sha256) }, uniquingKeysWith: { a, _ in a })
        func record(_ step: FlashStep, _ action: String) {
            written.append(.init(file: step.name, sha256: digests[step.name] ?? FileDigest.sha256(step.bytes), bytes: step.bytes.count, action: action))
        }
        // What it holds: module info in normal mode, the DFU inventory when held in DFU mode.
        var requests: ControlRequests?
        var heldInDFU: DfuSeSession?
        let installed: [FlashPlanner.Installed]
        do {
            if await link.presence(deviceID) == .dfu {
                let session = try await link.dfu(deviceID, within: .seconds(2))
                heldInDFU = session
                installed = try await DeviceInventory.read(session, platform: platform, depth: .headers).filter(\.valid).map(\.installed)
            } else {
                let normal = try await link.normal(deviceID, within: .seconds(5))
                requests = normal
                installed = try await normal.modules().filter(\.isValid).compactMap { module in
                    module.function.map { FlashPlanner.Installed(identity: ModuleIdentity(function: $0, index: module.index, version: module.version), address: 0) }
                }
            }
        } catch {
            throw StepFailure("FLASH-UNREACHABLE", "the device did not answer: \(error)", deviceGone: Self.gone(error))
        }
        guard let layoutText = platform.dfuAltSettings?.first(where: { $0.alt == 0 })?.layout, let layout = try? DfuSeLayout(layoutText) else {
            throw StepFailure("MANIFEST-PLATFORM", "the catalog has no DFU layout for \(platform.name)")
        }
        let plan: FlashPlan
        do {
            plan = try FlashPlanner.plan(manifest.modules, platform: platform, layout: layout, installed: installed,
                                         expectedProductID: UInt16(manifest.file.productID))
        } catch {
            throw StepFailure(error.code, error.description)
        }
        // Manifest modules the plan leaves out: the device holds them already (same version).
        let planned = Set(plan.steps.map(\.name))
        for module in manifest.modules where !planned.contains(module.name) {
            written.append(.init(file: module.name, sha256: digests[module.name] ?? "", bytes: module.module.size, action: "already-installed"))
        }
        let total = plan.steps.reduce(0) { $0 + $1.bytes.count }
        let done = Counter()
        let dfuNames = Set(plan.dfuSteps.map(\.name))
        let link = self.link, clock = self.clock, switchWithin = self.switchWithin

        func controlRequestSteps(_ requests: ControlRequests) async throws(StepFailure) -> ControlRequests {
            let update = ControlRequestUpdate(clock: clock, comeBackWithin: switchWithin)
            let after: ControlRequests
            do {
                after = try await update.run(plan.controlRequestSteps, connect: { try await link.normal(deviceID, within: .seconds(1)) }) { event in
                    if case .sent(_, let bytes, let stepTotal) = event, bytes == stepTotal { progress(done.add(stepTotal), total) }
                }
            } catch {
                throw StepFailure(error.code, error.description, deviceGone: error.code == "UPDATE-DEVICE-GONE")
            }
            for step in plan.controlRequestSteps { record(step, "control-request") }
            return after
        }
        // DFU mode: the executor re-reads what it needs and verifies by read-back.
        func dfuSteps(_ session: DfuSeSession) async throws(StepFailure) {
            let extra = installed.filter { $0.identity.function == .ncpFirmware }
            do {
                let prepared = try await PreparedFlash.prepare(manifest.modules.filter { dfuNames.contains($0.name) }, session: session, platform: platform,
                                                               extra: extra, expectedProductID: UInt16(manifest.file.productID))
                let outcomes = try await prepared.run(on: session) { event in
                    switch event {
                    case .phase(_, "write", let bytes, _): progress(min(total, done.value + bytes), total)
                    case .stepFinished(_, let outcome): progress(min(total, done.add(outcome.step.bytes.count)), total)
                    default: break
                    }
                }
                for outcome in outcomes {
                    switch outcome.action {
                    case .skipped: record(outcome.step, "already-installed")
                    case .written: record(outcome.step, "written")
                    case .deferredToControlRequest: break
                    }
                }
            } catch let refusal as PlanRefusal {
                throw StepFailure(refusal.code, refusal.description)
            } catch let error as DFUError {
                throw StepFailure(error.code, error.description, deviceGone: error.cause == .noDevice)
            } catch {
                throw StepFailure("FLASH-FAILED", "\(error)", deviceGone: Self.gone(error))
            }
        }

        if let session = heldInDFU {
            if !dfuNames.isEmpty { try await dfuSteps(session) }
            guard !plan.controlRequestSteps.isEmpty else {
                progress(total, total)
                return FlashOutcome(written: written, inDFU: true)
            }
            do { _ = try await session.leave() } catch {
                throw StepFailure("FLASH-DFU-LEAVE", "the device did not leave DFU mode after its DFU writes: \(error). Replug it to resume", deviceGone: Self.gone(error))
            }
            switch await bootAfterLeavingDFU(deviceID) {
            case .booted(let booted):
                _ = try await controlRequestSteps(booted)
            case .stayedInDFU:
                throw StepFailure("FLASH-NOT-BOOTABLE", "after its DFU writes the device came back in DFU mode instead of booting, so its "
                                  + plan.controlRequestSteps.map(\.name).joined(separator: ", ") + " could not be sent. Set it aside: its firmware does not start")
            case .gone:
                throw StepFailure("FLASH-DFU-SWITCH", "the device did not come back after leaving DFU mode. Replug it to resume", deviceGone: true)
            }
            progress(total, total)
            return FlashOutcome(written: written, inDFU: false)
        }
        guard var current = requests else { throw StepFailure("FLASH-UNREACHABLE", "the device did not answer in normal mode", deviceGone: true) }
        if !plan.controlRequestSteps.isEmpty { current = try await controlRequestSteps(current) }
        guard !dfuNames.isEmpty else { return FlashOutcome(written: written, inDFU: false) }
        let session: DfuSeSession
        do {
            try await current.enterDFU()
            session = try await link.dfu(deviceID, within: switchWithin)
        } catch {
            throw StepFailure("FLASH-DFU-SWITCH", "the device did not come back in DFU mode: \(error). Replug it to resume", deviceGone: true)
        }
        try await dfuSteps(session)
        progress(total, total)
        return FlashOutcome(written: written, inDFU: true)
    }

    // MARK: Finish

    /// Sets setup-done where the Device OS needs it, leaves the device in `state`, and
    /// returns the modules it holds at the end (module info, or DFU when it ends in DFU).
    public func finish(deviceID: String, platform name: String?, state: NoCloudPolicy.FinalState, inDFU: Bool) async throws(StepFailure) -> [DeviceIdentity.Module] {
        guard let name, let manifest = manifests[name] else { throw StepFailure("MANIFEST-NO-PLATFORM", "no manifest for \(name ?? "this platform")") }
        let platform = manifest.platform
        do {
            if inDFU {
                // Leave DFU: the firmware boots (the guard keeps it listening).
                _ = try await link.dfu(deviceID, within: .seconds(2)).leave()
            }
            let requests = try await link.normal(deviceID, within: switchWithin)
            if try await !requests.isListening() { try await requests.startListening() }
            do {
                _ = try await ControlRequestUpdate(clock: clock).markSetupDone(requests, platform: platform)
            } catch {
                throw StepFailure(error.code, error.description)
            }
            let modules = try await requests.modules()
            for module in manifest.modules {
                let header = module.module.header
                guard header.function != .radioStack || platform.generation != 3 || modules.contains(where: { $0.function == .radioStack }) else { continue }
                guard modules.contains(where: { $0.function == header.function && $0.index == header.index && $0.version == header.version && $0.isValid }) else {
                    throw StepFailure("VERIFY-MODULE-INFO", "after flashing, the device does not report \(header.function.name) #\(header.index) v\(header.version) as valid. Re-run the device")
                }
            }
            let after = modules.map {
                DeviceIdentity.Module(moduleFunction: Int($0.function?.rawValue ?? 0), moduleIndex: Int($0.index), moduleVersion: Int($0.version), valid: $0.isValid)
            }
            if state == .dfu {
                try await requests.enterDFU()
                _ = try await link.dfu(deviceID, within: switchWithin)
            }
            return after
        } catch let failure as StepFailure {
            throw failure
        } catch {
            throw StepFailure("FINISH-FAILED", "could not leave the device in \(state.rawValue) mode: \(error)", deviceGone: Self.gone(error))
        }
    }
}

/// A running byte count shared with progress callbacks.
final class Counter: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var total = 0
    var value: Int { lock.withLock { total } }
    func add(_ bytes: Int) -> Int { lock.withLock { total += bytes; return total } }
}
