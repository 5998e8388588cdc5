import DFU
import ParticleDevices

/// Writing modules into a device in DFU mode, the one way both `station run` (through
/// `Provisioner`) and `station flash` take: read what the device holds and plan against it
/// (`PreparedFlash`), refuse before writing anything when the device could not boot, write
/// what differs and verify every module by read-back (`FlashExecutor`).
public enum DFUFlash {
    public enum Event: Sendable {
        /// The plan, before anything is written.
        case planned(FlashPlan)
        case flash(FlashEvent)
    }

    /// What stopped it, with the code of the failure table.
    public enum Failure: Error, Sendable, CustomStringConvertible {
        /// The plan was refused: nothing was written.
        case refused(PlanRefusal)
        /// Reading, writing or verifying failed.
        case device(DFUError)
        /// Anything else that stopped the reading (its text).
        case other(String)

        public var code: String {
            switch self {
            case .refused(let refusal): refusal.code
            case .device(let error): error.code
            case .other: "FLASH-FAILED"
            }
        }

        public var description: String {
            switch self {
            case .refused(let refusal): refusal.description
            case .device(let error): error.description
            case .other(let text): text
            }
        }
    }

    /// Plans, then writes and verifies.
    /// - Parameters:
    ///   - extra: modules the device holds outside DFU's reach (a Tracker's NCP).
    ///   - allowServiceMode: flash a unit in Service Mode (`[bench] allow_service_mode`);
    ///     a protected one is refused whatever this says.
    ///   - controlRequestsFollow: the plan's control-request steps run in normal mode too
    ///     (false: a device flashed in DFU mode only, refused before writing when the modules
    ///     written would lack what only those steps install).
    public static func run(
        _ modules: [PlannedModule], session: DfuSeSession, platform: Platform, extra: [FlashPlanner.Installed] = [], expectedProductID: UInt16?,
        controlRequestsFollow: Bool, allowServiceMode: Bool = false, events: @escaping @Sendable (Event) -> Void = { _ in }
    ) async throws(Failure) -> [StepOutcome] {
        let prepared: PreparedFlash
        do {
            prepared = try await PreparedFlash.prepare(modules, session: session, platform: platform, extra: extra, expectedProductID: expectedProductID,
                                                       allowServiceMode: allowServiceMode)
        } catch let refusal as PlanRefusal {
            throw .refused(refusal)
        } catch let error as DFUError {
            throw .device(error)
        } catch {
            throw .other("could not read what the device holds: \(error)")
        }
        events(.planned(prepared.plan))
        if !controlRequestsFollow, let refusal = FlashPlanner.unmetWithoutControlRequests(modules, plan: prepared.plan, installed: prepared.installed) {
            throw .refused(refusal)
        }
        do {
            return try await prepared.run(on: session) { events(.flash($0)) }
        } catch {
            throw .device(error)
        }
    }
}
