import FirmwareModules
import TestSupport
import Testing
import Zlib

@Suite struct FormatTests {
    @Test func crc32MatchesTheStandardCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
    }

    @Test func crcIsStoredBigEndian() throws {
        let module = try FirmwareModule(bytes: SharedFixtures.moduleBytes("040_system-part1.bin"))
        #expect(module.storedCRC == 0x5D7D_B471)
        #expect(module.crcValid)
    }

    /// The device's rule: met by an installed module of the same function and index with a
    /// version >= the required one. Not transitive; circular requirements are fine.
    @Test func dependencyRule() {
        let installed = [
            ModuleIdentity(function: .bootloader, index: 0, version: 1200),
            ModuleIdentity(function: .systemPart, index: 1, version: 4100),
            ModuleIdentity(function: .radioStack, index: 0, version: 202),
        ]
        #expect(ModuleDependency(function: .systemPart, index: 1, version: 4100).isSatisfied(by: installed))
        #expect(ModuleDependency(function: .systemPart, index: 1, version: 3000).isSatisfied(by: installed))
        #expect(!ModuleDependency(function: .systemPart, index: 1, version: 4101).isSatisfied(by: installed))
        #expect(!ModuleDependency(function: .systemPart, index: 2, version: 1).isSatisfied(by: installed))
        #expect(!ModuleDependency(function: .bootloader, index: 1, version: 1).isSatisfied(by: installed))
        #expect(ModuleDependency.none.isSatisfied(by: []))
    }

    @Test func realSystemPartDependenciesAreMetByTheirRelease() throws {
        let names = ["boron-bootloader@4.1.0.bin", "boron-softdevice@4.1.0.bin", "boron-system-part1@4.1.0.bin"]
        let modules = try names.map { try FirmwareModule(bytes: SharedFixtures.moduleBytes($0)) }
        let image = modules.map(\.header.identity)
        for module in modules where module.header.function != .radioStack {
            for dependency in module.header.dependencies {
                #expect(dependency.isSatisfied(by: image), "\(module.header.function) needs \(dependency)")
            }
        }
    }

    @Test func dropModuleInfoFlashImageSkipsThePrefixOnly() throws {
        let bytes = try SharedFixtures.moduleBytes("boron-softdevice@4.1.0.bin")
        let module = try FirmwareModule(bytes: bytes)
        let image = module.flashImage
        #expect(image.address == 0x1000)
        #expect(image.bytes.count == bytes.count - 24)
        #expect(image.bytes.last == bytes.last, "suffix and CRC are written too")
        let system = try FirmwareModule(bytes: SharedFixtures.moduleBytes("boron-system-part1@4.1.0.bin"))
        #expect(system.flashImage.bytes.count == system.size && system.flashImage.address == system.header.startAddress)
    }

    @Test func errorsNameTheOffset() throws {
        #expect(throws: ModuleError.truncated(size: 10, minimum: 64)) { try FirmwareModule(bytes: [UInt8](repeating: 1, count: 10)) }
        // Flag 0x10 with no END extension after the prefix.
        var bytes = try ModuleWriter.write(ModuleSpec(
            header: ModuleHeader(startAddress: 0x1000, endAddress: 0, version: 1, platformID: 13, function: .userPart, index: 1),
            payload: [UInt8](repeating: 0xEE, count: 64)))
        bytes[9] |= 0x10
        bytes = try ModuleWriter.seal(bytes)
        do {
            _ = try FirmwareModule(bytes: bytes)
            Issue.record("parsed")
        } catch {
            guard case .prefixExtensionsWithoutEnd = error else { Issue.record("\(error)"); return }
            #expect(error.description.contains("Prefix extensions should end with END extension"))
        }
    }

    @Test func corruptCompressedStreamIsATypedError() throws {
        let original = try SharedFixtures.moduleBytes("derived/tinker-0.8.0-rc.27-boron.compressed.bin")
        var bytes = original
        for i in 40..<200 { bytes[i] = 0xFF }
        let module = try FirmwareModule(bytes: try ModuleWriter.seal(bytes))
        #expect(throws: ModuleError.self) { try ModuleCompression.decompress(module, codec: ZlibDeflateCodec()) }
        var method = original
        method[26] = 7
        let wrongMethod = try FirmwareModule(bytes: try ModuleWriter.seal(method))
        #expect(throws: ModuleError.invalidCompressedHeader(offset: 24, reason: "compression method 7 (expected 0, raw deflate)")) {
            try ModuleCompression.decompress(wrongMethod, codec: ZlibDeflateCodec())
        }
    }

    @Test func combinedWithTrailingDataIsRefused() throws {
        let bytes = try SharedFixtures.moduleBytes("derived/boron-bootloader@4.1.0+tinker-0.8.0-rc.27-boron.combined.bin") + [1, 2, 3]
        #expect(throws: ModuleError.invalidCombinedPart(offset: 57256, reason: "3 bytes follow the last part (COMBINED clear)")) {
            try CombinedModule.split(bytes)
        }
    }

    @Test func comparatorReportsDifferencesAndUnknownKeys() {
        let problems = ExpectedComparison.mismatches(
            ours: ["file": "a", "flags": 1], expected: ["file": "a", "flags": 2, "newKey": 3, "source": "x"])
        #expect(problems.count == 2)
        #expect(problems.contains { $0.hasPrefix("flags:") })
        #expect(problems.contains { $0.contains("newKey") })
        #expect(ExpectedComparison.canonical(true) != ExpectedComparison.canonical(1))
    }
}
