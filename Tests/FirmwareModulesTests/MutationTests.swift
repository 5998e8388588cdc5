import FirmwareModules
import Synchronization
import PropertyBased
import TestSupport
import Testing
import Zlib

/// Thousands of random byte mutations of real fixtures: the parser, splitter and inflater
/// return values or typed errors, and never trap.
@Suite struct MutationTests {
    static let files = [
        "tinker-0.8.0-rc.27-boron.bin", "p2-user-part-prefix-extensions.bin", "app-with-assets.bin", "cat.bin",
        "argon-ncp-firmware-0.0.5-ota.bin", "derived/tinker-0.8.0-rc.27-boron.compressed.bin",
        "derived/bsom-bootloader@4.1.0+tinker-1.1.0-rc.1-bsom.compressed.combined.bin", "unknown.bin",
        "044_Core_Tinker_P5_V10.bin", "p2-bootloader-protected-cert.bin",
    ]

    struct Mutation: Sendable, CustomStringConvertible {
        var file: Int
        /// (position fraction in 0...1_000_000, new byte); positions near the ends are favoured.
        var edits: [(Int, UInt8, Bool)]
        var truncate: Int?
        var description: String { "file \(file) edits \(edits.count) truncate \(String(describing: truncate))" }
    }

    static let mutations = zip(
        Gen.int(in: 0..<files.count),
        zip(Gen.int(in: 0...1_000_000), Gen.uint8(), Gen.bool).array(of: 1...8),
        Gen.int(in: -1...1_000_000)
    ).map { file, edits, truncate in
        Mutation(file: file, edits: edits, truncate: truncate < 0 || truncate % 5 != 0 ? nil : truncate)
    }

    @Test func randomMutationsNeverTrap() async throws {
        let originals = try Self.files.map(SharedFixtures.moduleBytes)
        let codec = ZlibDeflateCodec()
        let tally = Mutex((parsed: 0, refused: 0))
        await propertyCheck(count: 3000, input: Self.mutations) { mutation in
            var bytes = originals[mutation.file]
            for (fraction, value, nearEnd) in mutation.edits where !bytes.isEmpty {
                // Half the edits hit the last 64 bytes (suffix, sizes) or the first 600 (prefix).
                let span = nearEnd ? min(bytes.count, 64) : min(bytes.count, 600)
                let position = nearEnd ? bytes.count - 1 - fraction % span : fraction % span
                bytes[position] = value
            }
            if let truncate = mutation.truncate { bytes = Array(bytes.prefix(truncate % (bytes.count + 1))) }
            do throws(ModuleError) {
                _ = try ModuleInspection.inspect(file: "mutated", bytes: bytes, codec: codec)
                tally.withLock { $0.parsed += 1 }
            } catch {
                #expect(!error.code.isEmpty && !error.description.isEmpty)
                tally.withLock { $0.refused += 1 }
            }
            _ = try? CombinedModule.split(bytes)
        }
        let (parsed, refused) = tally.withLock { ($0.parsed, $0.refused) }
        #expect(parsed + refused == 3000)
        #expect(parsed > 0 && refused > 0, "mutations should both parse and fail (parsed \(parsed), refused \(refused))")
    }
}
