import DFU
import FirmwareModules
import ParticleDevices

/// A plan and the read-back it was made from, so the executor does not read the same bytes
/// twice.
public struct PreparedFlash: Sendable {
    public let plan: FlashPlan
    public let known: [ReadBack]
    /// The valid modules the plan was made against (DFU inventory and `extra`).
    public let installed: [FlashPlanner.Installed]

    /// Reads what a device in DFU mode holds (`DeviceInventory`, headers first), then plans.
    /// Modules the plan keeps are part of the final image, so each is then read whole and its
    /// CRC checked; a corrupt one counts as absent and the plan is made again (replacing it,
    /// or refusing for the missing dependency). Modules the plan replaces are not read here:
    /// the executor compares only what it must.
    /// - Parameter extra: modules the device holds outside DFU's reach (a Tracker's NCP).
    /// - Throws: `DFUError` while reading, `PlanRefusal` when the plan is refused (first of
    ///   all for a unit USB may not write: `DeviceProtection.check`).
    public static func prepare(
        _ modules: [PlannedModule], session: DfuSeSession, platform: Platform, extra: [FlashPlanner.Installed] = [],
        expectedProductID: UInt16? = nil, allowServiceMode: Bool = false
    ) async throws -> PreparedFlash {
        // A protected unit is never read for planning, let alone written.
        try DeviceProtection.check(DeviceProtection.reported(by: session), allowServiceMode: allowServiceMode, modules: modules)
        var inventory = try await DeviceInventory.read(session, platform: platform, depth: .headers)
        func makePlan() throws -> FlashPlan {
            let installed = inventory.filter(\.valid).map(\.installed) + extra
            return try FlashPlanner.plan(modules, platform: platform, layout: session.layout, installed: installed, expectedProductID: expectedProductID)
        }
        var plan = try makePlan()
        var replan = false
        for (index, item) in inventory.enumerated() where item.valid && !item.checked && !plan.replaces(item.installed.identity) {
            inventory[index] = try await DeviceInventory.check(item, session, platform: platform)
            replan = replan || !inventory[index].valid
        }
        if replan { plan = try makePlan() }
        return PreparedFlash(plan: plan, known: inventory.compactMap(\.readBack), installed: inventory.filter(\.valid).map(\.installed) + extra)
    }

    /// Runs the plan through `FlashExecutor` with the inventory's read-back.
    public func run(on session: DfuSeSession, events: @Sendable (FlashEvent) -> Void = { _ in }) async throws(DFUError) -> [StepOutcome] {
        try await FlashExecutor(session: session).run(plan, known: known, events: events)
    }
}
