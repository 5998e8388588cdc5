import DFU
import DeviceEmulator
import FirmwareModules
import ParticleDevices
import Station

/// One in-process emulated device in DFU mode with its DfuSe session: what
/// `station flash --emulate` and `station benchmark flash` flash.
public struct EmulatedFlash: Sendable {
    public let platform: Platform
    public let device: EmulatedDFUDevice<ContinuousClock>
    public let session: DfuSeSession

    public init(platform: Platform, timing: FlashTiming, preload: [FirmwareModule]) async throws {
        let ncp = preload.first { $0.header.function == .ncpFirmware }
        device = try EmulatedDFUDevice(
            .init(platform: platform, deviceID: "e00fce68ae40e8a1f5b4c2d3", timing: timing), clock: ContinuousClock(),
            preload: preload.filter { $0.header.function != .ncpFirmware }, ncp: ncp)
        guard platform.dfuAltSettings?.first != nil else { throw EmulatorError.unsupportedPlatform(platform.name) }
        session = try await DfuSeSession.open(device, clock: ContinuousClock())
        self.platform = platform
    }

    /// What the device holds outside DFU's reach (its NCP), for the planner.
    public var extra: [InstalledModule] { device.ncpModule.map { [InstalledModule(identity: $0.header.identity)] } ?? [] }

    /// Flashes `modules` the one DFU way (`DFUFlash`).
    public func flash(_ modules: [PlannedModule], expectedProductID: UInt16? = nil,
                      events: @escaping @Sendable (DFUFlash.Event) -> Void = { _ in }) async throws(DFUFlash.Failure) -> [StepOutcome] {
        try await DFUFlash.run(modules, session: session, platform: platform, extra: extra, expectedProductID: expectedProductID,
                               controlRequestsFollow: true, events: events)
    }

    /// A full Device OS + application set made by the module writer, at realistic sizes, and
    /// the bootloader (and NCP) a factory device already holds.
    public static func demoSet(for platform: Platform, scale: Double = 1) throws -> (preload: [FirmwareModule], flash: [PlannedModule]) {
        func size(_ bytes: Int) -> Int { max(0x2100, Int(Double(bytes) * scale) / 4 * 4) }
        if platform.generation == 2 {
            let boot = try ModuleFactory.bootloader(platform, version: 1006)
            var flash: [PlannedModule] = []
            for index in UInt8(1)...3 {
                let needs: [ModuleDependency] = index == 1
                    ? [ModuleDependency(function: .bootloader, index: 0, version: 1006)]
                    : [ModuleDependency(function: .systemPart, index: index - 1, version: 2302)]
                flash.append(PlannedModule(name: "system-part\(index)", module: try ModuleFactory.systemPart(platform, index: index, version: 2302, size: size(110 * 1024), dependencies: needs)))
            }
            flash.append(PlannedModule(name: "application", module: try ModuleFactory.userPart(
                platform, size: size(24 * 1024), requiresSystem: ModuleDependency(function: .systemPart, index: 3, version: 2302), product: (id: 12_345, version: 7))))
            return ([boot], flash)
        }
        let bootloader = ModuleDependency(function: .bootloader, index: 0, version: 3100)
        var preload = [try ModuleFactory.bootloader(platform, version: 3100)]
        var systemNeeds = [bootloader, ModuleDependency(function: .radioStack, index: 0, version: 202)]
        if platform.moduleSlots?.ncp != nil {
            preload.append(try ModuleFactory.ncp(platform, version: 7))
            systemNeeds[1] = ModuleDependency(function: .ncpFirmware, index: 0, version: 7)
        }
        let radio = try ModuleFactory.radioStack(platform, version: 202, size: size(150 * 1024), dependencies: [bootloader, ModuleDependency(function: .systemPart, index: 1, version: 6200)])
        let system = try ModuleFactory.systemPart(platform, version: 6200, size: size(500 * 1024), dependencies: systemNeeds)
        let app = try ModuleFactory.userPart(platform, size: size(64 * 1024), requiresSystem: ModuleDependency(function: .systemPart, index: 1, version: 6200), product: (id: 12_345, version: 7))
        return (preload, [PlannedModule(name: "radio stack", module: radio), PlannedModule(name: "system-part1", module: system), PlannedModule(name: "application", module: app)])
    }
}
