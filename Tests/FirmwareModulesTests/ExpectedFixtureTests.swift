import FirmwareModules
import Foundation
import TestSupport
import Testing
import Zlib

/// Every module entry of the shared `EXPECTED.json` (values from binary-version-reader),
/// compared field by field with our parser.
@Suite struct ExpectedFixtureTests {
    static let codec = ZlibDeflateCodec()

    static func inspectJSON(file: String, bytes: [UInt8]) throws -> [String: Any] {
        let report = try ModuleInspection.inspect(file: file, bytes: bytes, codec: codec)
        let data = try JSONEncoder().encode(report)
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    @Test func everyModuleEntryMatchesTheReference() throws {
        let entries = try SharedFixtures.expectedEntries().filter { ($0["kind"] as? String) != "bundle" }
        var seen = 0
        var refused = 0
        for entry in entries {
            let file = try #require(entry["file"] as? String)
            seen += 1
            let bytes = try SharedFixtures.moduleBytes(file)
            if let expectedError = entry["parseError"] as? String {
                refused += 1
                do {
                    _ = try ModuleInspection.inspect(file: file, bytes: bytes, codec: Self.codec)
                    Issue.record("\(file): parsed, but the reference refuses it with '\(expectedError)'")
                } catch {
                    #expect(error.description.lowercased().contains(expectedError.lowercased()), "\(file): \(error)")
                }
                let rest = ExpectedComparison.mismatches(ours: ["file": file], expected: entry, skip: ["parseError"])
                #expect(rest.isEmpty, "\(file): \(rest)")
                continue
            }
            let ours = try Self.inspectJSON(file: file, bytes: bytes)
            let problems = ExpectedComparison.mismatches(ours: ours, expected: entry)
            #expect(problems.isEmpty, "\(file):\n\(problems.joined(separator: "\n"))")
        }
        #expect(seen == 71, "EXPECTED.json should hold 71 module entries")
        #expect(refused == 2, "the reference refuses exactly two files")
    }

    @Test func refusedFilesAreTypedErrors() throws {
        #expect(throws: ModuleError.empty) { try FirmwareModule(bytes: SharedFixtures.moduleBytes("emptybin.bin")) }
        let rc2 = try SharedFixtures.moduleBytes("RC2_bootloader.bin")
        do {
            _ = try FirmwareModule(bytes: rc2)
            Issue.record("RC2_bootloader.bin parsed")
        } catch {
            guard case .invalidExtensionLength(let offset, let length) = error else {
                Issue.record("unexpected error \(error)")
                return
            }
            #expect(length < 4)
            #expect(offset > 0)
            #expect(error.code == "MODULE-EXTENSION-LENGTH")
        }
    }

    /// Derived files: decompressing and splitting gives back the real fixtures they were made
    /// from (byte for byte, except the compressed softdevice, whose SHA-256 and CRC are
    /// recomputed on decompression, as the reference does).
    @Test func derivedFilesRestoreTheirSources() throws {
        let entries = try SharedFixtures.expectedEntries()
        let byFile = Dictionary(uniqueKeysWithValues: entries.compactMap { e in (e["file"] as? String).map { ($0, e) } })
        var checked = 0
        for entry in entries where (entry["kind"] as? String) == "derived" {
            let file = try #require(entry["file"] as? String)
            let source = try #require(entry["source"] as? [String: Any])
            let origins = try #require(source["derivedFrom"] as? [String])
            let operation = try #require(source["operation"] as? String)
            let bytes = try SharedFixtures.moduleBytes(file)
            var restored: [FirmwareModule]
            switch operation {
            case let op where op.contains("combine"):
                restored = try CombinedModule.split(bytes).map { try $0.standalone() }
                if op.contains("compress") {
                    restored = try restored.map { try ModuleCompression.decompress($0, codec: Self.codec) }
                }
            case let op where op.contains("compress"):
                restored = [try ModuleCompression.decompress(FirmwareModule(bytes: bytes), codec: Self.codec)]
            default:
                continue  // the corrupt-CRC file has no parts
            }
            try #require(restored.count == origins.count, "\(file): \(restored.count) parts for \(origins.count) sources")
            for (module, origin) in zip(restored, origins) {
                let original = try SharedFixtures.moduleBytes(origin)
                let isSoftdevice = module.header.function == .radioStack
                if isSoftdevice {
                    #expect(module.crcValid && module.sha256MatchesFile, "\(file): recomputed CRC and SHA-256 must be valid")
                    let same = module.bytes.dropLast(38).elementsEqual(original.dropLast(38))
                    #expect(same, "\(file): softdevice differs before its SHA-256")
                } else {
                    let same = module.bytes == original
                    #expect(same, "\(file): part does not restore \(origin) byte for byte")
                }
                let ours = try Self.inspectJSON(file: origin, bytes: module.bytes)
                let skip: Set<String> = isSoftdevice ? ["crc", "sha256Field"] : []
                let problems = ExpectedComparison.mismatches(ours: ours, expected: try #require(byFile[origin]), skip: skip)
                #expect(problems.isEmpty, "\(file) → \(origin):\n\(problems.joined(separator: "\n"))")
                checked += 1
            }
        }
        #expect(checked == 7, "five derived files restore seven source modules")
    }

    /// Our compressor, fed the sources, produces modules that decompress back to them; and
    /// for the non-DROP files, our output equals the derived fixtures (same zlib settings).
    @Test func compressingTheSourcesRoundTrips() throws {
        for name in ["tinker-0.8.0-rc.27-boron.bin", "electron-system-part2@2.3.1.bin", "boron-softdevice@4.1.0.bin"] {
            let original = try FirmwareModule(bytes: SharedFixtures.moduleBytes(name))
            let compressed = try ModuleCompression.compress(original, codec: Self.codec)
            #expect(compressed.crcValid && compressed.sha256MatchesFile && compressed.sizeMatchesAddresses)
            #expect(compressed.header.flags.contains(.compressed))
            let back = try ModuleCompression.decompress(compressed, codec: Self.codec)
            if original.header.flags.contains(.dropModuleInfo) {
                let same = back.bytes.dropLast(38).elementsEqual(original.bytes.dropLast(38))
                #expect(same, "\(name) differs before its SHA-256 after compress + decompress")
            } else {
                let same = back.bytes == original.bytes
                #expect(same, "\(name) does not survive compress + decompress")
            }
        }
    }
}
