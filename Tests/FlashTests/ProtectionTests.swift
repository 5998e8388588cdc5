import DFU
import DeviceEmulator
import FirmwareModules
import ParticleDevices
import Station
import Testing

/// Device Protection is read before anything else, and a unit USB may not write is refused
/// before any module is read or written (`PLAN-PROTECTED`), whichever way the device says
/// it: DFU string descriptor 0xFA (`sm=p`, Device OS 6.1.2+ bootloaders), or every segment
/// `b` on older ones.
@Suite struct ProtectionTests {
    static let withDescriptor: [UInt8] = [0x00, 0x21, 0x41, 0xFA]
    static let older: [UInt8] = [0x00, 0x21, 0x41]

    func open(_ protection: DeviceProtection, commands: [UInt8]) async throws -> (EmulatedDFUDevice<ContinuousClock>, DfuSeSession, FixtureSet) {
        let set = try FixtureSet.named("boron")
        let device = try EmulatedDFUDevice(.init(platform: set.platform, deviceID: "e00fce68ae40e8a1f5b4c2d3", protection: protection, commands: commands),
                                           clock: ContinuousClock(), preload: set.preload, ncp: set.ncp)
        return (device, try await DfuSeSession.open(device, clock: ContinuousClock()), set)
    }

    @Test(arguments: [(DeviceProtection.open, withDescriptor, DeviceProtection?.some(.open)), (.protected, withDescriptor, .protected),
                      (.service, withDescriptor, .service), (.protected, older, .protected), (.open, older, nil)])
    func theStateIsReadFromTheDescriptorElseTheLayout(protection: DeviceProtection, commands: [UInt8], reported: DeviceProtection?) async throws {
        let (_, session, _) = try await open(protection, commands: commands)
        #expect(DeviceProtection.reported(by: session) == reported)
    }

    @Test(arguments: [(DeviceProtection.protected, withDescriptor, false), (.protected, older, false), (.protected, withDescriptor, true),
                      (.service, withDescriptor, false)])
    func aUnitUSBMayNotWriteIsRefusedBeforeAnyRead(protection: DeviceProtection, commands: [UInt8], allowServiceMode: Bool) async throws {
        let (device, session, set) = try await open(protection, commands: commands)
        await device.resetCounters()
        do {
            _ = try await DFUFlash.run(set.flash, session: session, platform: set.platform, extra: set.ncp.map { [InstalledModule(identity: $0.header.identity)] } ?? [],
                                       expectedProductID: nil, controlRequestsFollow: true, allowServiceMode: allowServiceMode)
            Issue.record("a \(protection) unit was flashed")
        } catch {
            #expect(error.code == "PLAN-PROTECTED", "\(error)")
            #expect(error.description.contains("online rework bench"), "\(error.description)")
        }
        let counters = await device.counters
        #expect(counters.pagesErased == 0 && counters.bytesProgrammed == 0 && counters.bytesTransferred == 0, "nothing read or written: \(counters)")
        #expect(FailureTable.entry(for: "PLAN-PROTECTED")?.next == .routeToOnlineRework)
    }

    /// A Service Mode unit stays a protected device: where the line allows it, it is flashed
    /// with a protected product's release (its bootloader the protected variant), written and
    /// bootable.
    @Test func aServiceModeUnitIsFlashedWithAProtectedRelease() async throws {
        let boron = FixtureSet.platform("boron")
        let release = try DemoFirmware.release(boron, deviceOS: "6.2.0", product: (4242, 1), deviceProtection: true)
        let modules = release.map { PlannedModule(name: $0.name, module: $0.module) }
        let device = try EmulatedDFUDevice(.init(platform: boron, deviceID: "e00fce68ae40e8a1f5b4c2d3", protection: .service, commands: Self.withDescriptor),
                                           clock: ContinuousClock(), preload: release.filter { $0.module.header.function == .bootloader }.map(\.module))
        let session = try await DfuSeSession.open(device, clock: ContinuousClock())
        let outcomes = try await DFUFlash.run(modules, session: session, platform: boron, expectedProductID: nil, controlRequestsFollow: true, allowServiceMode: true)
        #expect(outcomes.contains { if case .written = $0.action { true } else { false } })
        #expect(await device.bootReport().bootable)
    }

    /// Firmware that would not keep a Service Mode unit protected is refused before anything
    /// is read: Device OS below 6.1.1 (the real 4.1.0 fixtures: system part 4100 < 6101), or
    /// the open bootloader (particle-cli writes only protected bootloaders to such a unit).
    @Test func aServiceModeUnitIsNotGivenFirmwareThatWouldUnprotectIt() async throws {
        let boron = FixtureSet.platform("boron")
        let open = try DemoFirmware.release(boron, deviceOS: "6.2.0", product: (4242, 1)).map { PlannedModule(name: $0.name, module: $0.module) }
        let real = try FixtureSet.named("boron")
        for (modules, file) in [(real.flash, "boron-system-part1@4.1.0.bin"), (open, "demo-boron-bootloader@6.2.0.bin")] {
            let (device, session, _) = try await self.open(.service, commands: Self.withDescriptor)
            await device.resetCounters()
            do {
                _ = try await DFUFlash.run(modules, session: session, platform: boron, expectedProductID: nil, controlRequestsFollow: true, allowServiceMode: true)
                Issue.record("\(file) was accepted for a Service Mode unit")
            } catch {
                #expect(error.code == "PLAN-PROTECTED-FIRMWARE" && error.description.contains(file), "\(error)")
            }
            let counters = await device.counters
            #expect(counters.bytesProgrammed == 0 && counters.bytesTransferred == 0, "nothing read or written: \(counters)")
        }
        #expect(FailureTable.entry(for: "PLAN-PROTECTED-FIRMWARE")?.next == .callTheLineLead)
    }
}
