import DFU
import DeviceEmulator
import FirmwareModules
import ParticleDevices
import Seams
import Station
import Testing

/// The engine spends as few control transfers as the protocol allows, without ever trusting
/// what it has not read: block addressing after one SET_ADDRESS, no full read before
/// rewriting content that differs from its first bytes, kept modules read whole.
@Suite struct TransferEconomyTests {
    let boron = PlatformCatalog.bundled.platform(named: "boron")!

    func bench(transferSize: Int = 4096, preload: [FirmwareModule] = []) throws -> (EmulatedDFUDevice<ContinuousClock>, RecordingTransport, DfuSeSession) {
        let device = try EmulatedDFUDevice(.init(platform: boron, deviceID: "e00fce68ae40e8a1f5b4c2d3", timing: .instant), clock: ContinuousClock(), preload: preload)
        let recorder = RecordingTransport(device)
        let session = DfuSeSession(transport: recorder, clock: ContinuousClock(), layout: try DfuSeLayout(boron.dfuAltSettings![0].layout), transferSize: transferSize)
        return (device, recorder, session)
    }

    static func setAddresses(_ recording: ControlRecording) -> [String] {
        recording.transfers.filter { $0.bRequest == 1 && $0.wValue == 0 && $0.out?.hasPrefix("21") == true }.compactMap(\.out)
    }

    static func uploads(_ recording: ControlRecording) -> [ControlRecording.Transfer] {
        recording.transfers.filter { $0.bRequest == 2 && $0.wValue >= 2 }
    }

    @Test func writeSetsTheAddressOncePerRunThenCountsBlocks() async throws {
        let (device, recorder, session) = try bench()
        let bytes = ModuleFactory.filler(5 * 4096 + 100, seed: 9)
        for page in stride(from: UInt32(0xD4000), to: 0xDA000, by: 0x1000) { try await session.erase(page: page) }
        let before = await recorder.recording.transfers.count
        try await session.write(bytes, at: 0xD4000)
        let transfers = Array(await recorder.recording.transfers.dropFirst(before))
        let recording = ControlRecording(device: "emulated", transfers: transfers)
        #expect(Self.setAddresses(recording) == ["2100400d00"], "one SET_ADDRESS for the run")
        #expect(transfers.filter { $0.bRequest == 1 && $0.wValue >= 2 }.map(\.wValue) == [2, 3, 4, 5, 6, 7])
        #expect(await device.peek(at: 0xD4000, count: bytes.count) == bytes)
        #expect(try await session.read(at: 0xD4000, count: bytes.count) == bytes)
    }

    @Test func otherChunkSizesSetTheAddressBeforeEveryChunk() async throws {
        // The device numbers blocks in its own 4096 bytes; a 1024-byte host chunk must not
        // use block numbers, or every chunk after the first lands 3 KB too far.
        let (device, recorder, session) = try bench(transferSize: 1024)
        let bytes = ModuleFactory.filler(3000, seed: 4)
        try await session.erase(page: 0xD4000)
        try await session.write(bytes, at: 0xD4100)
        #expect(await device.peek(at: 0xD4100, count: bytes.count) == bytes)
        #expect(Self.setAddresses(await recorder.recording) == ["2100410d00", "2100450d00", "2100490d00"])
        #expect(try await session.read(at: 0xD4100, count: bytes.count) == bytes)
    }

    @Test func severalRangesAreReadAfterOneSetAddress() async throws {
        let (device, recorder, session) = try bench()
        let a = ModuleFactory.filler(0x218, seed: 1), b = ModuleFactory.filler(5000, seed: 2), c = ModuleFactory.filler(16, seed: 3)
        await device.poke(at: 0x30000, a)
        await device.poke(at: 0xD4100, b)  // not on a block boundary, and spanning two blocks
        await device.poke(at: 0x3000, c)
        let before = await recorder.recording.transfers.count
        let reads = try await session.read(ranges: [(0x30000, a.count), (0xD4100, b.count), (0x3000, c.count)])
        #expect(reads == [a, b, c])
        let transfers = ControlRecording(device: "e", transfers: Array(await recorder.recording.transfers.dropFirst(before)))
        #expect(Self.setAddresses(transfers) == ["2100300000"], "one SET_ADDRESS, at the lowest block")
        #expect(Self.uploads(transfers).count == 4)
        // Other chunk sizes address every range on its own, with the same bytes.
        let (other, _, small) = try bench(transferSize: 1024)
        await other.poke(at: 0xD4100, b)
        #expect(try await small.read(ranges: [(0xD4100, b.count)]) == [b])
    }

    func application(seed: UInt32) throws -> FirmwareModule {
        let slot = boron.moduleSlots!.userParts.first { $0.legacy != true }!
        return try FirmwareModule(bytes: ModuleWriter.write(ModuleSpec(
            header: ModuleHeader(startAddress: slot.start!, endAddress: 0, version: 6, platformID: boron.id.rawValue, function: .userPart, index: slot.index,
                                 dependency: ModuleDependency(function: .bootloader, index: 0, version: 1)),
            payload: ModuleFactory.filler(40 * 1024, seed: seed), product: (id: 12_345, version: 1))))
    }

    @Test func differentContentIsRewrittenWithoutReadingItFirst() async throws {
        let old = try application(seed: 1), new = try application(seed: 2)
        let (device, recorder, session) = try bench(preload: [try ModuleFactory.bootloader(boron, version: 3100), old])
        let prepared = try await PreparedFlash.prepare([PlannedModule(name: "app", module: new)], session: session, platform: boron)
        await device.resetCounters()
        let before = Self.uploads(await recorder.recording).count
        let outcomes = try await prepared.run(on: session)
        guard case .written = outcomes[0].action else { Issue.record("\(outcomes)"); return }
        let reads = Self.uploads(await recorder.recording).dropFirst(before).reduce(0) { $0 + Int($1.wLength) }
        // The inventory's header span decided it: the executor read only the verify pass.
        #expect(reads == new.flashImage.bytes.count, "read \(reads) bytes for a \(new.flashImage.bytes.count)-byte module")
        #expect(await device.peek(at: new.header.startAddress, count: new.flashImage.bytes.count) == Array(new.flashImage.bytes))
    }

    @Test func interruptedWriteOfTheSameModuleRewritesOnlyWhatIsMissing() async throws {
        let module = try application(seed: 3)
        let (device, _, session) = try bench(preload: [try ModuleFactory.bootloader(boron, version: 3100)])
        let start = module.header.startAddress
        // A previous attempt wrote the first 5 pages, then the device was unplugged.
        await device.poke(at: start, Array(module.flashImage.bytes.prefix(5 * 4096)))
        let prepared = try await PreparedFlash.prepare([PlannedModule(name: "app", module: module)], session: session, platform: boron)
        await device.resetCounters()
        let outcomes = try await prepared.run(on: session)
        let pages = (module.flashImage.bytes.count + 4095) / 4096
        #expect(outcomes[0].action == .written(pagesErased: pages - 5, pagesWritten: 1))
        #expect(await device.counters.erasedPages.first == start + 5 * 4096)
        #expect(await device.peek(at: start, count: module.flashImage.bytes.count) == Array(module.flashImage.bytes))
    }

    @Test func aKeptModuleIsReadWholeAndACorruptOneCountsAsAbsent() async throws {
        let boot = try ModuleFactory.bootloader(boron, version: 3100)
        let system = try ModuleFactory.systemPart(boron, version: 6200, size: 20 * 1024, dependencies: [ModuleDependency(function: .bootloader, index: 0, version: 3100)])
        let app = try ModuleFactory.userPart(boron, requiresSystem: ModuleDependency(function: .systemPart, index: 1, version: 6200), product: (id: 12_345, version: 7))
        let (device, _, session) = try bench(preload: [boot, system])
        let intact = try await PreparedFlash.prepare([PlannedModule(name: "app", module: app)], session: session, platform: boron)
        #expect(intact.known.contains { $0.address == system.header.startAddress && $0.bytes.count == system.size }, "the kept system part was read whole")

        // One flipped byte in the middle of the system part: its CRC fails, so the
        // application's dependency on it is unmet and nothing is written.
        let middle = system.header.startAddress + UInt32(system.size / 2)
        await device.poke(at: middle, [await device.peek(at: middle, count: 1)[0] ^ 0xFF])
        await #expect {
            _ = try await PreparedFlash.prepare([PlannedModule(name: "app", module: app)], session: session, platform: boron)
        } throws: { error in
            guard let refusal = error as? PlanRefusal, case .unmetDependency = refusal else { return false }
            return true
        }
    }
}
