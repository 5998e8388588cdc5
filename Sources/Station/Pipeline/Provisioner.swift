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
    /// Its identifiers, checked (`JobIdentity(checking:)`).
    public let job: JobIdentity
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
    /// Flash units in Service Mode (`[bench] allow_service_mode`); a protected one never.
    public let allowServiceMode: Bool
    let identifier = DeviceIdentifier()

    public init(link: any DeviceLink, manifests: [String: FirmwareManifest], clock: C, switchWithin: Duration = .seconds(20), allowServiceMode: Bool = false) {
        self.link = link
        self.manifests = manifests
        self.clock = clock
        self.switchWithin = switchWithin
        self.allowServiceMode = allowServiceMode
    }

    /// Whether an error means the device left the bus: by its typed cause only (a STALL or
    /// a timeout is a device fault with its own code, not an unplug).
    public static func gone(_ error: any Error) -> Bool { StepFailure.isGone(error) }

    // MARK: Identify

    /// Identifies a device that arrived on `port` with `productID` in `mode`. A device in DFU
    /// mode is first started (it leaves DFU and boots), because its serial number, ICCID and
    /// IMEI are only readable in normal mode; one that does not come back is identified as
    /// far as DFU allows.
    public func identify(deviceID: DeviceID, port: String, productID: UInt16, inDFU: Bool) async throws(StepFailure) -> IdentifyOutcome {
        var start = identifier.start(port: port, productID: productID, usbSerial: deviceID.rawValue)
        if inDFU {
            do {
                let session = try await link.dfu(deviceID, within: .seconds(2))
                guard let platform = start.platform.flatMap({ PlatformCatalog.bundled.platform(named: $0) }) else {
                    throw StepFailure("IDENTIFY-PLATFORM", "USB product ID 2b04:\(String(productID, radix: 16)) is not a platform the station knows")
                }
                // A protected unit is never written: nothing more is read, it stays in DFU mode
                // (no firmware runs, it cannot connect), and the job routes it to rework.
                let protection = DeviceProtection.reported(by: session)
                if protection == .protected {
                    start = identifier.identifyDFU(start, protection: protection, inventory: nil)
                    return IdentifyOutcome(identity: start, job: try JobIdentity(checking: start))
                }
                let inventory = try await DeviceInventory.read(session, platform: platform, depth: .headers)
                start = identifier.identifyDFU(start, protection: protection, inventory: inventory)
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
                return IdentifyOutcome(identity: start, job: try JobIdentity(checking: start))
            case .stayedInDFU, .gone:
                throw StepFailure("IDENTIFY-UNREACHABLE", "the device did not come back after leaving DFU mode. Replug it", deviceGone: true)
            }
        } else {
            do { requests = try await link.normal(deviceID, within: .seconds(5)) } catch {
                throw StepFailure("IDENTIFY-UNREACHABLE", "the device did not answer in normal mode: \(error). Replug it", deviceGone: true)
            }
        }
        let identity = await identifier.identifyNormal(start, requests: requests, openConsole: await link.console(deviceID))
        if identity.protection == .protected, identity.deviceID != nil {
            // It refuses what identify asks; the job routes it to rework (PLAN-PROTECTED).
            return IdentifyOutcome(identity: identity, job: try JobIdentity(checking: identity))
        }
        if identity.deviceID == nil || identity.deviceOSVersion == nil && identity.modules == nil {
            throw StepFailure("IDENTIFY-INCOMPLETE", "the device could not be identified (\(identity.notes.joined(separator: "; "))). Replug it and retry")
        }
        return IdentifyOutcome(identity: identity, job: try JobIdentity(checking: identity))
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
    func bootAfterLeavingDFU(_ deviceID: DeviceID) async -> Boot {
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

    /// Plans against what the device holds and writes what differs: in normal mode,
    /// `NormalModeFlash` (module info, the plan, the control-request steps, DFU mode: the
    /// path `station flash` takes too), then `dfuSteps` for the rest. A device held in DFU
    /// mode (no bootable firmware, e.g. a write cut short by an unplug) gets its DFU steps
    /// first (`planFlash` reads its DFU inventory), then boots for the control-request steps.
    /// Everything is verified.
    public func flash(deviceID: DeviceID, platform name: String?, progress: @escaping @Sendable (Int, Int) -> Void) async throws(StepFailure) -> FlashOutcome {
        guard let name, let manifest = manifests[name] else {
            throw StepFailure("MANIFEST-NO-PLATFORM", "this line has no firmware manifest for \(name ?? "this platform"); set the device aside or add the platform's manifest")
        }
        guard manifest.platform.catalogLayout != nil else {
            throw StepFailure("MANIFEST-PLATFORM", "the catalog has no DFU layout for \(manifest.platform.name)")
        }
        guard await link.presence(deviceID) == .dfu else {
            return try await flashFromNormalMode(deviceID: deviceID, manifest: manifest, progress: progress)
        }
        let start = try await planFlash(deviceID: deviceID, manifest: manifest)
        let plan = start.plan
        let meter = FlashMeter(total: plan.steps.reduce(0) { $0 + $1.bytes.count }, report: progress)
        var written = start.alreadyInstalled
        if !plan.dfuSteps.isEmpty { written += try await dfuSteps(plan, manifest: manifest, installed: start.installed, session: start.session, meter: meter) }
        guard !plan.controlRequestSteps.isEmpty else {
            meter.finish()
            return FlashOutcome(written: written, inDFU: true)
        }
        do { _ = try await start.session.leave() } catch {
            throw StepFailure("FLASH-DFU-LEAVE", "the device did not leave DFU mode after its DFU writes: \(error). Replug it to resume", deviceGone: Self.gone(error))
        }
        switch await bootAfterLeavingDFU(deviceID) {
        case .booted:
            written += try await controlRequestSteps(plan, deviceID: deviceID, manifest: manifest, meter: meter)
        case .stayedInDFU:
            throw StepFailure("FLASH-NOT-BOOTABLE", "after its DFU writes the device came back in DFU mode instead of booting, so its "
                              + plan.controlRequestSteps.map(\.name).joined(separator: ", ") + " could not be sent. Set it aside: its firmware does not start")
        case .gone:
            throw StepFailure("FLASH-DFU-SWITCH", "the device did not come back after leaving DFU mode. Replug it to resume", deviceGone: true)
        }
        meter.finish()
        return FlashOutcome(written: written, inDFU: false)
    }

    /// A device in normal mode: `NormalModeFlash` up to DFU mode, then `dfuSteps`.
    func flashFromNormalMode(deviceID: DeviceID, manifest: FirmwareManifest, progress: @escaping @Sendable (Int, Int) -> Void) async throws(StepFailure) -> FlashOutcome {
        let link = self.link
        let seen = PlanSeen(progress)
        let outcome: NormalModeFlash<C>.Outcome
        do throws(NormalModeFlash<C>.Failure) {
            outcome = try await NormalModeFlash(clock: clock, dfuWithin: switchWithin, updateWithin: switchWithin, allowServiceMode: allowServiceMode).run(
                manifest.modules, platform: manifest.platform, expectedProductID: UInt16(manifest.file.productID),
                connect: { try await link.normal(deviceID, within: .seconds(2)) },
                openDFU: { _ in try? await link.dfu(deviceID, within: .milliseconds(1)) },
                events: { event in
                    switch event {
                    case .planned(let plan, let installed): seen.planned(plan, installed: installed)
                    case .update(.sent(_, let bytes, let total)) where bytes == total: seen.meter?.add(total)
                    default: break
                    }
                })
        } catch {
            switch error {
            case .refused(let refusal): throw StepFailure(refusal.code, refusal.description)
            case .unreachable(let cause): throw StepFailure("FLASH-UNREACHABLE", "the device did not answer: \(cause)", deviceGone: Self.gone(cause))
            case .update(let update): throw StepFailure(update.code, update.description, deviceGone: update.code == "UPDATE-DEVICE-GONE")
            case .enterDFU(let cause):
                throw StepFailure("FLASH-DFU-SWITCH", "the device did not come back in DFU mode: \(cause). Replug it to resume", deviceGone: true)
            case .notBackInDFU:
                throw StepFailure("FLASH-DFU-SWITCH", "the device did not come back in DFU mode: \(error.description) Replug it to resume", deviceGone: true)
            }
        }
        guard let (plan, installed, meter) = seen.current else { throw StepFailure("FLASH-UNREACHABLE", "the device did not answer in normal mode", deviceGone: true) }
        var written = Self.alreadyInstalled(plan, manifest: manifest) + plan.controlRequestSteps.map { Self.written($0, "control-request", manifest: manifest) }
        guard case .dfu(_, let session, _) = outcome else { return FlashOutcome(written: written, inDFU: false) }
        written += try await dfuSteps(plan, manifest: manifest, installed: installed, session: session, meter: meter)
        meter.finish()
        return FlashOutcome(written: written, inDFU: true)
    }

    /// Where a flash of a device held in DFU mode starts: its DFU inventory, the plan
    /// against it, and the session it was read over.
    struct FlashStart {
        var plan: FlashPlan
        var installed: [InstalledModule]
        var session: DfuSeSession
        /// Manifest modules the plan leaves out: the device holds them already.
        var alreadyInstalled: [FlashOutcome.Written]
    }

    /// The plan part of `flash` for a device held in DFU mode.
    func planFlash(deviceID: DeviceID, manifest: FirmwareManifest) async throws(StepFailure) -> FlashStart {
        let platform = manifest.platform
        let session: DfuSeSession
        let installed: [InstalledModule]
        do {
            session = try await link.dfu(deviceID, within: .seconds(2))
        } catch {
            throw StepFailure("FLASH-UNREACHABLE", "the device did not answer: \(error)", deviceGone: Self.gone(error))
        }
        do throws(PlanRefusal) {
            try DeviceProtection.check(DeviceProtection.reported(by: session), allowServiceMode: allowServiceMode, modules: manifest.modules)
        } catch {
            throw StepFailure(error.code, error.description)
        }
        do {
            installed = try await DeviceInventory.read(session, platform: platform, depth: .headers).filter(\.valid).map(\.installed)
        } catch {
            throw StepFailure("FLASH-UNREACHABLE", "the device did not answer: \(error)", deviceGone: Self.gone(error))
        }
        guard let layout = platform.catalogLayout else {
            throw StepFailure("MANIFEST-PLATFORM", "the catalog has no DFU layout for \(platform.name)")
        }
        let plan: FlashPlan
        do {
            plan = try FlashPlanner.plan(manifest.modules, platform: platform, layout: layout, installed: installed,
                                         expectedProductID: UInt16(manifest.file.productID))
        } catch {
            throw StepFailure(error.code, error.description)
        }
        return FlashStart(plan: plan, installed: installed, session: session, alreadyInstalled: Self.alreadyInstalled(plan, manifest: manifest))
    }

    /// Manifest modules a plan leaves out: the device holds them already.
    static func alreadyInstalled(_ plan: FlashPlan, manifest: FirmwareManifest) -> [FlashOutcome.Written] {
        let planned = Set(plan.steps.map(\.name))
        return manifest.modules.filter { !planned.contains($0.name) }.map {
            FlashOutcome.Written(file: $0.name, sha256: Self.digest(of: $0.name, in: manifest) ?? "", bytes: $0.module.size, action: "already-installed")
        }
    }

    /// The control-request part of a flash that started in DFU mode: bootloader, NCP and
    /// asset modules once the device booted, each verified by module info after its reset.
    func controlRequestSteps(_ plan: FlashPlan, deviceID: DeviceID, manifest: FirmwareManifest, meter: FlashMeter)
        async throws(StepFailure) -> [FlashOutcome.Written] {
        let update = ControlRequestUpdate(clock: clock, comeBackWithin: switchWithin)
        let link = self.link
        do {
            _ = try await update.run(plan.controlRequestSteps, connect: { try await link.normal(deviceID, within: .seconds(1)) }) { event in
                if case .sent(_, let bytes, let stepTotal) = event, bytes == stepTotal { meter.add(stepTotal) }
            }
        } catch {
            throw StepFailure(error.code, error.description, deviceGone: error.code == "UPDATE-DEVICE-GONE")
        }
        return plan.controlRequestSteps.map { Self.written($0, "control-request", manifest: manifest) }
    }

    /// The DFU part of `flash`: the executor re-reads what it needs, writes what differs and
    /// verifies by read-back.
    func dfuSteps(_ plan: FlashPlan, manifest: FirmwareManifest, installed: [InstalledModule], session: DfuSeSession, meter: FlashMeter)
        async throws(StepFailure) -> [FlashOutcome.Written] {
        let dfuNames = Set(plan.dfuSteps.map(\.name))
        let extra = installed.filter { $0.identity.function == .ncpFirmware }
        do throws(DFUFlash.Failure) {
            let outcomes = try await DFUFlash.run(manifest.modules.filter { dfuNames.contains($0.name) }, session: session, platform: manifest.platform,
                                                  extra: extra, expectedProductID: UInt16(manifest.file.productID), controlRequestsFollow: true,
                                                  allowServiceMode: allowServiceMode) { event in
                switch event {
                case .flash(.phase(_, "write", let bytes, _)): meter.peek(bytes)
                case .flash(.stepFinished(_, let outcome)): meter.add(outcome.step.bytes.count)
                default: break
                }
            }
            return outcomes.compactMap { outcome in
                switch outcome.action {
                case .skipped: Self.written(outcome.step, "already-installed", manifest: manifest)
                case .written: Self.written(outcome.step, "written", manifest: manifest)
                case .deferredToControlRequest: nil
                }
            }
        } catch {
            switch error {
            case .refused: throw StepFailure(error.code, error.description)
            case .device(let dfu): throw StepFailure(error.code, error.description, deviceGone: dfu.cause == .noDevice)
            case .other: throw StepFailure(error.code, error.description)
            }
        }
    }

    /// The manifest pins each file's SHA-256 (checked when it was loaded): no re-hashing per device.
    static func digest(of file: String, in manifest: FirmwareManifest) -> String? {
        manifest.file.modules.first { $0.file == file }?.sha256
    }

    static func written(_ step: FlashStep, _ action: String, manifest: FirmwareManifest) -> FlashOutcome.Written {
        .init(file: step.name, sha256: digest(of: step.name, in: manifest) ?? FileDigest.sha256(step.bytes), bytes: step.bytes.count, action: action)
    }

    // MARK: Finish

    /// Sets setup-done where the Device OS needs it, leaves the device in `state`, and
    /// returns the modules it holds at the end (module info, or DFU when it ends in DFU).
    public func finish(deviceID: DeviceID, platform name: String?, state: NoCloudPolicy.FinalState, inDFU: Bool) async throws(StepFailure) -> [DeviceIdentity.Module] {
        guard let name, let manifest = manifests[name] else { throw StepFailure("MANIFEST-NO-PLATFORM", "no manifest for \(name ?? "this platform")") }
        let platform = manifest.platform
        do {
            if inDFU {
                // Leave DFU: the firmware boots (the guard keeps it listening).
                _ = try await link.dfu(deviceID, within: .seconds(2)).leave()
            }
            let requests = try await link.normal(deviceID, within: switchWithin)
            // Listening first (module info is read there), DFU mode at the end if that is
            // where it is left.
            try await FinalState.listening.apply(to: requests)
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
                DeviceIdentity.Module(identity: ModuleIdentity(function: $0.function ?? .none, index: $0.index, version: $0.version), valid: $0.isValid, sha256: $0.sha256)
            }
            if state == .dfu {
                try await state.apply(to: requests)
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

/// A flash's progress over all its steps: bytes done of `total`, reported as they grow.
/// What a normal-mode flash planned (told by `NormalModeFlash`'s events), and the meter
/// made for it.
final class PlanSeen: @unchecked Sendable {
    let progress: @Sendable (Int, Int) -> Void
    // Guarded by `lock`.
    private let lock = NSLock()
    private var seen: (plan: FlashPlan, installed: [InstalledModule], meter: FlashMeter)?

    init(_ progress: @escaping @Sendable (Int, Int) -> Void) { self.progress = progress }

    func planned(_ plan: FlashPlan, installed: [InstalledModule]) {
        let meter = FlashMeter(total: plan.steps.reduce(0) { $0 + $1.bytes.count }, report: progress)
        lock.withLock { seen = (plan, installed, meter) }
    }

    var meter: FlashMeter? { lock.withLock { seen?.meter } }
    var current: (FlashPlan, [InstalledModule], FlashMeter)? { lock.withLock { seen.map { ($0.plan, $0.installed, $0.meter) } } }
}

final class FlashMeter: @unchecked Sendable {
    let total: Int
    let report: @Sendable (Int, Int) -> Void
    // `done` is guarded by `lock`.
    private let lock = NSLock()
    private var done = 0

    init(total: Int, report: @escaping @Sendable (Int, Int) -> Void) {
        self.total = total
        self.report = report
    }

    /// A step's bytes are done.
    func add(_ bytes: Int) {
        let now = lock.withLock { done += bytes; return done }
        report(min(total, now), total)
    }

    /// Within a step: `bytes` of it written so far.
    func peek(_ bytes: Int) {
        let now = lock.withLock { done } + bytes
        report(min(total, now), total)
    }

    func finish() { report(total, total) }
}
