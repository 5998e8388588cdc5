import DFU
import DeviceEmulator
import FirmwareModules
import ParticleDevices
import Station
import TestSupport

/// The fixture sets: real modules from the shared fixtures, plus modules the project
/// writes where no real one exists.
struct FixtureSet: Sendable, CustomStringConvertible {
    let platform: Platform
    let preload: [FirmwareModule]
    let ncp: FirmwareModule?
    let flash: [PlannedModule]
    var description: String { platform.name }

    static func module(_ name: String) throws -> PlannedModule {
        PlannedModule(name: name, module: try FirmwareModule(bytes: SharedFixtures.moduleBytes(name)))
    }

    static func platform(_ name: String) -> Platform { PlatformCatalog.bundled.platform(named: name)! }

    static func gen3(_ name: String, app: String) throws -> FixtureSet {
        FixtureSet(
            platform: platform(name), preload: [try module("\(name)-bootloader@4.1.0.bin").module], ncp: nil,
            flash: [try module("\(name)-softdevice@4.1.0.bin"), try module("\(name)-system-part1@4.1.0.bin"), try module(app)])
    }

    static let names = ["boron", "bsom", "b5som", "tracker", "esomx", "electron"]

    static func named(_ name: String) throws -> FixtureSet {
        switch name {
        case "boron": return try gen3("boron", app: "tinker-0.8.0-rc.27-boron.bin")
        case "bsom": return try gen3("bsom", app: "tinker-1.1.0-rc.1-bsom.bin")
        case "b5som": return try gen3("b5som", app: "tinker-1.5.0-b5som.bin")
        case "tracker":
            let tracker = platform("tracker")
            return FixtureSet(
                platform: tracker, preload: [try module("tracker-bootloader@4.1.0.bin").module],
                ncp: try ModuleFactory.ncp(tracker, version: 7),
                flash: [try module("tracker-softdevice@4.1.0.bin"), try module("tracker-system-part1@4.1.0.bin"), try module("tracker-tinker@1.5.4-rc.1.bin")])
        case "esomx":
            let esomx = platform("esomx")
            let system = try module("esomx-system-part1@4.1.0.bin")
            let bootloader = try ModuleFactory.bootloader(esomx, version: 1200)
            let radio = try ModuleFactory.radioStack(esomx, version: 202, dependencies: [
                ModuleDependency(function: .bootloader, index: 0, version: 1200), ModuleDependency(function: .systemPart, index: 1, version: 4100),
            ])
            let app = try ModuleFactory.userPart(esomx, requiresSystem: ModuleDependency(function: .systemPart, index: 1, version: 4100), product: (id: 15, version: 3))
            return FixtureSet(
                platform: esomx, preload: [bootloader], ncp: nil,
                flash: [PlannedModule(name: "esomx radio stack (written)", module: radio), system, PlannedModule(name: "esomx app (written)", module: app)])
        default:
            return FixtureSet(
                platform: platform("electron"), preload: [try module("electron-bootloader@2.3.1+lto.bin").module], ncp: nil,
                flash: [try module("electron-system-part1@2.3.1.bin"), try module("electron-system-part2@2.3.1.bin"),
                        try module("electron-system-part3@2.3.1.bin"), try module("electron_tinker.bin")])
        }
    }
}

/// An emulated device and a session on its alt 0, on the real clock with instant timing.
struct Bench {
    let device: EmulatedDFUDevice<ContinuousClock>
    let session: DfuSeSession

    init(_ set: FixtureSet, faults: [Fault] = [], protected: Bool = false, timing: FlashTiming = .instant, preload: [FirmwareModule]? = nil) throws {
        device = try EmulatedDFUDevice(
            .init(platform: set.platform, deviceID: "e00fce68ae40e8a1f5b4c2d3", protection: protected ? .protected : .open, timing: timing, faults: faults),
            clock: ContinuousClock(), preload: preload ?? set.preload, ncp: set.ncp)
        // The layout the device reports (a protected device shows every segment as `b`).
        let layout = try DfuSeLayout(EmulatedDFUDevice<ContinuousClock>.protectedLayoutIf(protected, set.platform.dfuAltSettings![0].layout))
        session = DfuSeSession(transport: device, clock: ContinuousClock(), layout: layout)
    }

    func plan(_ set: FixtureSet, expectedProductID: UInt16? = nil) async throws -> FlashPlan {
        let installed = try await DeviceInventory.read(session, platform: set.platform).filter(\.valid).map(\.installed)
        return try FlashPlanner.plan(set.flash, platform: set.platform, layout: session.layout, installed: installed + ncpInstalled(set), expectedProductID: expectedProductID)
    }

    func ncpInstalled(_ set: FixtureSet) -> [FlashPlanner.Installed] {
        set.ncp.map { [InstalledModule(identity: $0.header.identity)] } ?? []
    }
}
