import DFU
import DeviceEmulator
import FirmwareModules
import Station
import TestSupport
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

    /// A whole read of what was flashed gives each module's own SHA-256 as EXPECTED.json
    /// records its suffix field (a reading by header alone has none); the radio stack, known
    /// by the SoftDevice's record, has none either.
    @Test(arguments: ["boron", "electron", "tracker"])
    func theInventoryReadsEachModulesOwnHash(name: String) async throws {
        let set = try FixtureSet.named(name)
        let bench = try Bench(set)
        _ = try await FlashExecutor(session: bench.session).run(try await bench.plan(set))
        var stored: [String: String] = [:]
        for entry in try SharedFixtures.expectedEntries() {
            if let file = entry["file"] as? String, let field = entry["sha256Field"] as? [String: Any], let hash = field["stored"] as? String { stored[file] = hash }
        }
        let whole = try await DeviceInventory.read(bench.session, platform: set.platform, depth: .whole)
        var checked = 0
        for planned in set.flash + set.preload.map({ PlannedModule(name: "", module: $0) }) where planned.module.header.function != .radioStack {
            let found = try #require(whole.first { $0.installed.identity == planned.module.header.identity }, "\(planned.name) not found")
            let base = planned.name.split(separator: "/").last.map(String.init) ?? planned.name
            if let expected = stored[base] {
                #expect(found.installed.sha256 == expected, "\(planned.name)")
                checked += 1
            }
        }
        #expect(checked >= 2, "real fixture modules checked against EXPECTED.json: \(checked)")
        #expect(whole.filter { $0.installed.identity.function == .radioStack }.allSatisfy { $0.installed.sha256 == nil })
        let headers = try await DeviceInventory.read(bench.session, platform: set.platform, depth: .headers)
        #expect(headers.allSatisfy { $0.installed.sha256 == nil })
        // `check` reads one whole later, and then it has its hash.
        if let first = headers.first(where: { $0.length > 0 }) {
            let checkedLater = try await DeviceInventory.check(first, bench.session, platform: set.platform)
            #expect(checkedLater.installed.sha256 != nil && checkedLater.installed.sha256 == whole.first { $0.address == first.address }?.installed.sha256)
        }
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
