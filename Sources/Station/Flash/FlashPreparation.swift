import DFU
import FirmwareModules
import ParticleDevices

/// A plan and the read-back it was made from, so the executor does not read the same bytes
/// twice.
public struct PreparedFlash: Sendable {
    public let plan: FlashPlan
    public let known: [ReadBack]

    /// Reads what a device in DFU mode holds (`DeviceInventory`), then plans.
    /// - Parameter extra: modules the device holds outside DFU's reach (a Tracker's NCP).
    /// - Throws: `DFUError` while reading, `PlanRefusal` when the plan is refused.
    public static func prepare(
        _ modules: [PlannedModule], session: DfuSeSession, platform: Platform, extra: [FlashPlanner.Installed] = [],
        expectedProductID: UInt16? = nil
    ) async throws -> PreparedFlash {
        let inventory = try await DeviceInventory.read(session, platform: platform)
        let installed = inventory.filter(\.valid).map(\.installed) + extra
        let plan = try FlashPlanner.plan(modules, platform: platform, layout: session.layout, installed: installed, expectedProductID: expectedProductID)
        return PreparedFlash(plan: plan, known: inventory.compactMap(\.readBack))
    }

    /// Runs the plan through `FlashExecutor` with the inventory's read-back.
    public func run(on session: DfuSeSession, events: @Sendable (FlashEvent) -> Void = { _ in }) async throws(DFUError) -> [StepOutcome] {
        try await FlashExecutor(session: session).run(plan, known: known, events: events)
    }
}
