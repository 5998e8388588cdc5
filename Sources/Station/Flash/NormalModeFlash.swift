import ControlRequests
import DFU
import FirmwareModules
import ParticleDevices
import Seams

/// `station flash` on a device in normal mode, as one library call: it is put in listening
/// mode (off the cloud), its modules read with module info (90), the plan made against them;
/// the control-request steps (bootloader, NCP, assets) run and are verified after the
/// device's reset (`ControlRequestUpdate`, as `Provisioner.flash` runs them); setup-done is
/// set where its Device OS needs it; then, when DFU steps remain, it is asked for DFU mode and
/// found again there. The caller writes those steps over the session it gets back (with
/// `PreparedFlash`, as every DFU flash is written) and prints the events.
public struct NormalModeFlash<C: Clock<Duration>>: Sendable {
    public enum Event: Sendable {
        /// In listening mode, with its device ID.
        case listening(deviceID: String)
        /// Request 76's answer (Device OS 6), when it has one and the unit may be written.
        case protection(DeviceProtection)
        /// The plan, and the valid modules module info reported it was made against.
        case planned(FlashPlan, installed: [InstalledModule])
        case update(ControlUpdateEvent)
        /// Request 73 set: Device OS `release` on `platform` would otherwise boot into
        /// listening mode.
        case setupDone(release: String, platform: String)
        /// DFU steps remain: it was asked for DFU mode.
        case switchingToDFU
    }

    /// Where it ends: done in normal mode (listening), or in DFU mode with what is left.
    public enum Outcome: Sendable {
        case done
        case dfu(deviceID: String, session: DfuSeSession, modules: [PlannedModule])
    }

    /// What stopped it, with the code of the failure table.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        case refused(PlanRefusal)
        /// It did not answer (the error from the device or its channel).
        case unreachable(any Error)
        case update(ControlUpdateError)
        case enterDFU(ControlRequestError)
        case notBackInDFU(within: Duration)

        public var code: String {
            switch self {
            case .refused(let refusal): refusal.code
            case .unreachable: "FLASH-UNREACHABLE"
            case .update(let error): error.code
            case .enterDFU(let error): error.code
            case .notBackInDFU: "FLASH-DFU-SWITCH"
            }
        }

        public var description: String {
            switch self {
            case .refused(let refusal): refusal.description
            case .unreachable(let error): "the device did not answer: \(error)"
            case .update(let error): error.description
            case .enterDFU(let error): "could not switch to DFU mode for the remaining modules: \(error.description)"
            case .notBackInDFU(let within): "the device did not come back in DFU mode within \(within); check the cable and run the flash again."
            }
        }
    }

    public let clock: C
    /// How long the device may take to come back in DFU mode after request 50.
    public let dfuWithin: Duration
    /// How long it may take to come back after each control-request update's reset.
    public let updateWithin: Duration
    /// Flash a unit in Service Mode (`[bench] allow_service_mode`); a protected one never.
    public let allowServiceMode: Bool

    public init(clock: C, dfuWithin: Duration = .seconds(15), updateWithin: Duration = .seconds(30), allowServiceMode: Bool = false) {
        self.clock = clock
        self.dfuWithin = dfuWithin
        self.updateWithin = updateWithin
        self.allowServiceMode = allowServiceMode
    }

    /// - Parameters:
    ///   - connect: the device in normal mode (again after each reset; may fail while away).
    ///   - openDFU: the device with this ID in DFU mode, nil while it is not there yet.
    public func run(_ modules: [PlannedModule], platform: Platform, expectedProductID: UInt16?,
                    connect: @escaping @Sendable () async throws -> ControlRequests,
                    openDFU: @Sendable (String) async -> DfuSeSession?,
                    events: @escaping @Sendable (Event) -> Void) async throws(Failure) -> Outcome {
        guard let layout = platform.catalogLayout else {
            throw .unreachable(DFUError(operation: "descriptors", kind: .noLayout, device: platform.name, alt: 0))
        }
        let plan: FlashPlan
        let deviceID: String
        let installed: [InstalledModule]
        do {
            let requests = try await connect()
            try await requests.startListening()
            deviceID = try await requests.deviceID()
            events(.listening(deviceID: deviceID))
            // Device Protection first (request 76, Device OS 6; older releases do not answer
            // it and cannot be protected): a unit USB may not write is refused before the plan.
            if let state = try? await requests.protectedState() {
                do throws(PlanRefusal) {
                    let protection = DeviceProtection(protectedState: state.state, overridden: state.overridden)
                    try DeviceProtection.check(protection, allowServiceMode: allowServiceMode, modules: modules)
                    events(.protection(protection))
                } catch {
                    throw Failure.refused(error)
                }
            }
            installed = try await requests.modules().filter(\.isValid).compactMap { module -> InstalledModule? in
                guard let function = module.function else { return nil }
                return InstalledModule(identity: ModuleIdentity(function: function, index: module.index, version: module.version))
            }
            do throws(PlanRefusal) {
                plan = try FlashPlanner.plan(modules, platform: platform, layout: layout, installed: installed, expectedProductID: expectedProductID)
            } catch {
                throw Failure.refused(error)
            }
        } catch let failure as Failure {
            throw failure
        } catch let error as ControlRequestError where error.isDeviceProtected {
            // DEVICE_PROTECTED (-1801) to any of these: a protected unit (request 76 may be
            // missing or refused too). It is never written.
            throw .refused(.protectedDevice)
        } catch {
            throw .unreachable(error)
        }
        events(.planned(plan, installed: installed))
        let update = ControlRequestUpdate(clock: clock, comeBackWithin: updateWithin)
        let requests: ControlRequests
        do throws(ControlUpdateError) {
            requests = try await update.run(plan.controlRequestSteps, connect: connect) { events(.update($0)) }
            if let release = try await update.markSetupDone(requests, platform: platform) { events(.setupDone(release: release, platform: platform.name)) }
        } catch {
            throw .update(error)
        }
        guard !plan.dfuSteps.isEmpty else { return .done }
        do throws(ControlRequestError) { try await requests.enterDFU() } catch { throw .enterDFU(error) }
        events(.switchingToDFU)
        let deadline = Deadline(after: dfuWithin, on: clock)
        while !deadline.hasPassed {
            try? await clock.sleep(for: .milliseconds(250))
            if let session = await openDFU(deviceID) {
                return .dfu(deviceID: deviceID, session: session, modules: modules.filter { item in plan.dfuSteps.contains { $0.name == item.name } })
            }
        }
        throw .notBackInDFU(within: dfuWithin)
    }
}
