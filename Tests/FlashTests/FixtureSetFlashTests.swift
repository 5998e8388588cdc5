import DFU
import DeviceEmulator
import FirmwareModules
import Station
import Testing

@Suite struct FixtureSetFlashTests {
    @Test(arguments: FixtureSet.names)
    func fixtureSetFlashesReadsBackAndBoots(name: String) async throws {
        let set = try FixtureSet.named(name)
        let bench = try Bench(set)
        #expect(await !bench.device.bootReport().bootable, "a factory device without Device OS does not boot")
        let plan = try await bench.plan(set)
        #expect(plan.dfuSteps.count == set.flash.count)
        let outcomes = try await FlashExecutor(session: bench.session).run(plan)
        #expect(outcomes.allSatisfy { if case .written = $0.action { true } else { false } })
        for step in plan.dfuSteps {
            let inFlash = await bench.device.peek(at: step.address, count: step.bytes.count)
            #expect(inFlash == step.bytes, "\(step.name) is not byte-identical in flash")
        }
        let report = await bench.device.bootReport()
        #expect(report.bootable, "\(report)")
        #expect(report.entries.allSatisfy { $0.valid }, "\(report)")

        // Flashing the same content again reads back, skips every module, erases nothing.
        await bench.device.resetCounters()
        let again = try await FlashExecutor(session: bench.session).run(try await bench.plan(set))
        #expect(again.allSatisfy { $0.action == .skipped })
        #expect(await bench.device.counters.pagesErased == 0)
        #expect(await bench.device.counters.bytesProgrammed == 0)

        // And it leaves DFU the way its generation does.
        let outcome = try await bench.session.leave()
        #expect(outcome == .acknowledged(set.platform.generation == 3 ? .manifest : .downloadIdle))
    }

    @Test func bootValidationFailsWithoutRadioStack() async throws {
        let set = try FixtureSet.named("boron")
        let bench = try Bench(set)
        let noRadio = FixtureSet(platform: set.platform, preload: set.preload, ncp: nil, flash: Array(set.flash.dropFirst()))
        // Planning refuses (the system part needs the radio stack)...
        await #expect(throws: PlanRefusal.self) { try await bench.plan(noRadio) }
        // ...and a device flashed without it (by hand) does not boot.
        for item in noRadio.flash {
            let image = item.module.flashImage
            try await bench.session.write(Array(image.bytes), at: image.address)
        }
        let report = await bench.device.bootReport()
        #expect(!report.bootable)
        #expect(report.empty.contains("radio stack"))
        #expect(report.entry(.systemPart, index: 1)?.problems.contains { $0.contains("radioStack") } == true, "\(report)")
    }

    @Test func bootValidationFailsOnWrongPlatformAndBadCRC() async throws {
        let set = try FixtureSet.named("boron")
        let bsomSystem = try FixtureSet.module("bsom-system-part1@4.1.0.bin").module
        var corrupt = try FixtureSet.module("tinker-0.8.0-rc.27-boron.bin").module.bytes
        corrupt[0x1000] ^= 0xFF
        let bench = try Bench(set, preload: set.preload + [set.flash[0].module, bsomSystem, try FirmwareModule(bytes: corrupt)])
        let report = await bench.device.bootReport()
        #expect(!report.bootable)
        #expect(report.entry(.systemPart, index: 1)?.problems.contains { $0.contains("platform 23") } == true, "\(report)")
        #expect(report.entry(.userPart, index: 1)?.problems.contains("CRC mismatch") == true, "\(report)")
    }
}
