import DFU
import DeviceEmulator
import FirmwareModules
import ParticleDevices
import Station
import Testing

/// Every refusal happens before anything touches the device: the device's flash and
/// counters are unchanged, and a corrected plan then succeeds.
@Suite struct PlanRefusalTests {
    func refuse(_ set: FixtureSet, _ bench: Bench, expectedProductID: UInt16? = nil, protected: Bool = false, _ check: (PlanRefusal) -> Bool) async throws {
        let installed = try await DeviceInventory.read(bench.session, platform: set.platform).filter(\.valid).map(\.installed)
        await bench.device.resetCounters()
        do {
            _ = try FlashPlanner.plan(set.flash, platform: set.platform, layout: bench.session.layout, installed: installed + bench.ncpInstalled(set),
                                      expectedProductID: expectedProductID, deviceProtected: protected)
            Issue.record("the plan was not refused")
        } catch {
            #expect(check(error), "\(error)")
            #expect(error.description.contains("nothing was written") || error.description.contains("Nothing was written"))
        }
        let counters = await bench.device.counters
        #expect(counters.pagesErased == 0 && counters.bytesProgrammed == 0)
    }

    @Test func wrongPlatform() async throws {
        let boron = try FixtureSet.named("boron")
        var wrong = boron.flash
        wrong[1] = try FixtureSet.module("bsom-system-part1@4.1.0.bin")
        let bench = try Bench(boron)
        try await refuse(FixtureSet(platform: boron.platform, preload: boron.preload, ncp: nil, flash: wrong), bench) {
            if case .wrongPlatform(_, 23, PlatformID(13)) = $0 { true } else { false }
        }
        _ = try await FlashExecutor(session: bench.session).run(try await bench.plan(boron))
        #expect(await bench.device.bootReport().bootable)
    }

    @Test func corruptCRC() async throws {
        let boron = try FixtureSet.named("boron")
        var flash = boron.flash
        flash[2] = try FixtureSet.module("derived/tinker-0.8.0-rc.27-boron.corrupt-crc.bin")
        try await refuse(FixtureSet(platform: boron.platform, preload: boron.preload, ncp: nil, flash: flash), try Bench(boron)) {
            if case .integrity(_, let what) = $0 { what.contains("CRC") } else { false }
        }
    }

    @Test func shaMismatch() async throws {
        let boron = try FixtureSet.named("boron")
        var bytes = try FixtureSet.module("tinker-0.8.0-rc.27-boron.bin").module.bytes
        bytes[bytes.count - 20] ^= 0x01  // inside the SHA-256 field; then fix the CRC
        let crc = CRC32.checksum(bytes[0..<(bytes.count - 4)])
        bytes.replaceSubrange((bytes.count - 4)..., with: [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)])
        var flash = boron.flash
        flash[2] = PlannedModule(name: "tinker (bad sha)", module: try FirmwareModule(bytes: bytes))
        try await refuse(FixtureSet(platform: boron.platform, preload: boron.preload, ncp: nil, flash: flash), try Bench(boron)) {
            if case .integrity(_, let what) = $0 { what.contains("SHA-256") } else { false }
        }
    }

    @Test func unmetDependencyInTheFinalImage() async throws {
        // The tracker system part needs the NCP (7, 0, 7); this tracker has none.
        let tracker = try FixtureSet.named("tracker")
        let noNCP = FixtureSet(platform: tracker.platform, preload: tracker.preload, ncp: nil, flash: tracker.flash)
        try await refuse(noNCP, try Bench(noNCP)) {
            if case .unmetDependency(let module, let needs) = $0 { module.contains("system-part1") && needs.contains("ncpFirmware") } else { false }
        }
        // A circular pair (radio stack <-> system part) is fine when both are in the image.
        let boron = try FixtureSet.named("boron")
        let bench = try Bench(boron)
        #expect(try await bench.plan(boron).dfuSteps.map(\.name) == boron.flash.map(\.name))
    }

    @Test func productMismatch() async throws {
        let electron = try FixtureSet.named("electron")
        var flash = electron.flash
        flash[3] = try FixtureSet.module("product_firmware.bin")  // product 8178
        let set = FixtureSet(platform: electron.platform, preload: electron.preload, ncp: nil, flash: flash)
        try await refuse(set, try Bench(set), expectedProductID: 1234) {
            if case .productMismatch(_, 8178, 1234) = $0 { true } else { false }
        }
        // PRODUCT_VERSION() alone writes the platform ID: not a product mismatch.
        let boron = try FixtureSet.named("boron")
        let bench = try Bench(boron)
        #expect(throws: Never.self) { try FlashPlanner.plan(boron.flash, platform: boron.platform, layout: bench.session.layout, installed: [
            .init(identity: ModuleIdentity(function: .bootloader, index: 0, version: 1200), address: 0xF4000)], expectedProductID: 1234) }
    }

    @Test func protectedDevice() async throws {
        let boron = try FixtureSet.named("boron")
        let bench = try Bench(boron, protected: true)
        try await refuse(boron, bench, protected: true) { $0 == .protectedDevice }
        // The emulator itself refuses writes and reads on a protected device.
        await #expect(throws: DFUError.self) { try await bench.session.write([1], at: 0xB4000) }
        let alt0 = await bench.device.string(index: 4)
        #expect(alt0?.contains("Kb") == true && alt0?.contains("Kg") == false)
    }

    @Test func controlRequestModulesAreReportedNotFlashed() async throws {
        let boron = try FixtureSet.named("boron")
        let bench = try Bench(boron)
        let withBootloader = boron.flash + [try FixtureSet.module("boron-bootloader@4.1.0.bin")]
        let plan = try FlashPlanner.plan(withBootloader, platform: boron.platform, layout: bench.session.layout, installed: [])
        #expect(plan.steps.first?.path == .controlRequest)
        #expect(plan.steps.map(\.name).last == "tinker-0.8.0-rc.27-boron.bin")
        let outcomes = try await FlashExecutor(session: bench.session).run(plan)
        #expect(outcomes.first?.action == .deferredToControlRequest)
    }

    @Test func legacyUserPartIsInvalidatedForA256KBApp() async throws {
        let esomx = try FixtureSet.named("esomx")
        let legacyApp = try ModuleFactory.userPart(esomx.platform, requiresSystem: ModuleDependency(function: .systemPart, index: 1, version: 1), product: (id: 15, version: 1))
        // Move it to the legacy slot: a 128 KB app (index 1) at 0xD4000.
        var header = legacyApp.header
        header.startAddress = 0xD4000
        header.index = 1
        let legacy = try FirmwareModule(bytes: ModuleWriter.write(ModuleSpec(header: header, payload: Array(legacyApp.bytes[24..<(legacyApp.size - 44)]), product: (id: 15, version: 1))))
        let bench = try Bench(esomx, preload: esomx.preload + [legacy])
        let plan = try await bench.plan(esomx)
        #expect(plan.steps.last?.kind == .invalidateLegacyUserPart)
        _ = try await FlashExecutor(session: bench.session).run(plan)
        #expect(await bench.device.peek(at: 0xD4000, count: 4096).allSatisfy { $0 == 0xFF })
        let report = await bench.device.bootReport()
        #expect(report.bootable && report.entry(.userPart, index: 1) == nil, "\(report)")
    }
}
