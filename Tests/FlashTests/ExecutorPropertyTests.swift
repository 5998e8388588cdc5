import DFU
import DeviceEmulator
import FirmwareModules
import ParticleDevices
import PropertyBased
import Station
import Testing

/// The executor writes exactly the plan's bytes, erases exactly the erasable pages those
/// bytes overlap whose content differs (each once; all of them when the first 4096 bytes
/// differ), and never touches a non-erasable page.
@Suite struct ExecutorPropertyTests {
    struct Case: Sendable, CustomStringConvertible {
        /// (page index in the writable area, offset in page, length, seed, pages already equal mask)
        var writes: [(page: Int, offset: Int, length: Int, seed: UInt32, equalMask: Int)]
        var description: String { writes.map { "p\($0.page)+\($0.offset) len \($0.length) eq \($0.equalMask)" }.joined(separator: ", ") }
    }

    static let cases = zip(Gen.int(in: 1...230), Gen.int(in: 0...4095), Gen.int(in: 1...14000), Gen.int(in: 1...1000), Gen.int(in: 0...15))
        .array(of: 1...3).map { Case(writes: $0.map { (page: $0.0, offset: $0.1, length: $0.2, seed: UInt32($0.3), equalMask: $0.4) }) }

    @Test func bytesAndErasesAreExactlyThePlans() async throws {
        let boron = PlatformCatalog.bundled.platform(named: "boron")!
        let layout = try DfuSeLayout(boron.dfuAltSettings![0].layout)
        await propertyCheck(count: 60, input: Self.cases) { drawn in
            do {
                let device = try EmulatedDFUDevice(.init(platform: boron, deviceID: "e00fce68ae40e8a1f5b4c2d3", timing: .instant), clock: ContinuousClock())
                let session = DfuSeSession(transport: device, clock: ContinuousClock(), layout: layout)
                // Page-disjoint writes inside the writable area (0x1000...0xF8000).
                var steps: [FlashStep] = []
                var nextFree: UInt32 = 0x1000
                var expectedErases: [UInt32] = []
                for (n, w) in drawn.writes.enumerated() {
                    let address = max(nextFree, 0x1000 + UInt32(w.page) * 0x1000) + UInt32(w.offset)
                    let length = min(w.length, Int(0xF8000 - address))
                    guard length > 0 else { continue }
                    let bytes = ModuleFactory.filler(length, seed: w.seed)
                    let pages = layout.pages(overlapping: UInt64(address), count: length)!
                    var differing: [UInt32] = []
                    for (i, page) in pages.enumerated() {
                        let from = max(Int(page.start) - Int(address), 0)
                        let to = min(Int(page.end) - Int(address), length)
                        if w.equalMask & (1 << (i % 4)) != 0 {
                            await device.poke(at: address + UInt32(from), Array(bytes[from..<to]))  // already right
                        } else {
                            await device.poke(at: address + UInt32(from), [UInt8](repeating: UInt8(n + 1), count: to - from))
                            differing.append(page.start)
                        }
                    }
                    // The executor reads the first 4096 bytes; when they differ it rewrites
                    // every page without reading the rest, otherwise only the differing pages.
                    let probeEnd = UInt64(address) + UInt64(min(length, 4096))
                    let probeDiffers = differing.contains { UInt64($0) < probeEnd }
                    expectedErases += probeDiffers ? pages.map { UInt32($0.start) } : differing
                    steps.append(FlashStep(name: "write \(n)", kind: .module(ModuleIdentity(function: .userPart, index: UInt8(n), version: 0)),
                                           path: .dfu, address: address, bytes: bytes, reason: "property"))
                    nextFree = UInt32(pages.last!.end)
                }
                let outcomes = try await FlashExecutor(session: session).run(FlashPlan(platform: boron.id, steps: steps, finalImage: []))
                #expect(outcomes.count == steps.count)
                for step in steps {
                    let inFlash = await device.peek(at: step.address, count: step.bytes.count)
                    #expect(inFlash == step.bytes, "\(step.name)")
                }
                let erased = await device.counters.erasedPages
                #expect(erased == expectedErases, "erased \(erased.map { String($0, radix: 16) }) expected \(expectedErases.map { String($0, radix: 16) })")
                #expect(Set(erased).count == erased.count, "each page at most once")
                #expect(erased.allSatisfy { layout.page(containing: UInt64($0))?.attributes.contains(.erasable) == true })
            } catch {
                Issue.record("\(drawn): \(error)")
            }
        }
    }

    @Test func erasePlanCoversOverlappedErasablePagesOnce() throws {
        let layout = try DfuSeLayout("@Internal Flash   /0x00000000/1*004Ka,47*004Kg,192*004Kg,4*004Kg,4*004Kg,8*004Ka")
        let pages = try ErasePlan.pages(for: [.init(address: 0x1FFF, bytes: [1, 2]), .init(address: 0x2001, bytes: [3])], in: layout)
        #expect(pages.map(\.start) == [0x1000, 0x2000])
        #expect(throws: ErasePlan.Refusal.notWritable(page: 0)) { try ErasePlan.pages(for: [.init(address: 0x0FFF, bytes: [1, 2])], in: layout) }
        #expect(throws: ErasePlan.Refusal.outsideLayout(address: 0x100000)) { try ErasePlan.pages(for: [.init(address: 0x100000, bytes: [1])], in: layout) }
        #expect(throws: ErasePlan.Refusal.overlappingWrites(address: 0x2001)) {
            try ErasePlan.pages(for: [.init(address: 0x2000, bytes: [1, 2]), .init(address: 0x2001, bytes: [3])], in: layout)
        }
    }
}
