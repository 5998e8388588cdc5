import Testing
import FirmwareModules
import Zlib

/// Module files as a bad day at the factory makes them: each of these trapped or allocated
/// gigabytes before (issue 14); each must be a typed error now.
@Suite struct HostileModuleTests {
    /// A compressed module (DROP_MODULE_INFO) made by our own writer; `patch` changes bytes
    /// before the SHA-256 and CRC are recomputed.
    func compressed(originalSize: UInt32, stream: [UInt8], patch: (inout [UInt8]) -> Void = { _ in }) throws -> FirmwareModule {
        var header = ModuleHeader(startAddress: 0xD4000, endAddress: 0, version: 6, platformID: 13, function: .userPart, index: 1)
        header.flags.insert(.compressed)
        header.flags.insert(.dropModuleInfo)
        var compressedHeader: [UInt8] = [8, 0, 0, 0]
        compressedHeader += withUnsafeBytes(of: originalSize.littleEndian, Array.init)
        var bytes = try ModuleWriter.write(ModuleSpec(header: header, payload: compressedHeader + stream))
        patch(&bytes)
        return try FirmwareModule(bytes: try ModuleWriter.seal(bytes))
    }

    @Test func inflatingToNothingBehindAShortSuffixIsAnError() throws {
        let empty = try ZlibDeflateCodec().deflateRaw([])
        // The suffix claims 30 bytes, under the 36 of the base suffix: the rebuilt module
        // would be 58 bytes, under the 64 of the smallest module (seal trapped).
        let module = try compressed(originalSize: 0, stream: empty) { bytes in
            bytes[bytes.count - 6] = 30
            bytes[bytes.count - 5] = 0
        }
        #expect(module.suffix.size == 30)
        #expect(throws: ModuleError.truncated(size: 58, minimum: 64)) { try ModuleCompression.decompress(module, codec: ZlibDeflateCodec()) }
    }

    @Test(arguments: [UInt32.max, 0x7FFF_FFFF, UInt32(FirmwareModule.maximumSize + 1)])
    func aClaimedSizePastAnyPlatformIsRefusedBeforeInflating(claim: UInt32) throws {
        // A 128-byte file that says its contents inflate to gigabytes (0xFFFFFFFF trapped in
        // the length conversion; 0x7FFFFFFF allocated 2.1 GB first).
        let module = try compressed(originalSize: claim, stream: [UInt8](repeating: 0x55, count: 16))
        do {
            _ = try ModuleCompression.decompress(module, codec: ZlibDeflateCodec())
            Issue.record("decompressed")
        } catch {
            guard case .invalidCompressedHeader(_, let reason) = error else { Issue.record("\(error)"); return }
            #expect(reason.contains("\(claim)") && reason.contains("\(FirmwareModule.maximumSize)"), "\(reason)")
        }
    }

    @Test func theCodecRefusesAPromisePastTheBoundAndGrowsOnlyWithOutput() throws {
        let codec = ZlibDeflateCodec()
        #expect(throws: DeflateCodecError.self) { try codec.inflateRaw([0x03, 0x00], windowBits: 15, expectedSize: Int(UInt32.max)) }
        #expect(throws: DeflateCodecError.self) { try codec.inflateRaw([0x03, 0x00], windowBits: 15, expectedSize: -1) }
        // A stream promising 16 MiB that holds 100 bytes gives its 100 (the caller checks the
        // count); cut short, it ends early and says how far it got.
        let data = (0..<100).map { UInt8(truncatingIfNeeded: $0 &* 37) }
        let stream = try codec.deflateRaw(ArraySlice(data))
        #expect(try codec.inflateRaw(ArraySlice(stream), windowBits: 15, expectedSize: FirmwareModule.maximumSize) == data)
        do {
            _ = try codec.inflateRaw(ArraySlice(stream.prefix(stream.count / 2)), windowBits: 15, expectedSize: FirmwareModule.maximumSize)
            Issue.record("inflated a cut stream")
        } catch {
            #expect(error.reason.contains("ends early"), "\(error.reason)")
        }
        // Past the promise: an error, not a bigger buffer.
        let big = try codec.deflateRaw(ArraySlice([UInt8](repeating: 1, count: 300_000)))
        #expect(throws: DeflateCodecError.self) { try codec.inflateRaw(ArraySlice(big), windowBits: 15, expectedSize: 200_000) }
        #expect(try codec.inflateRaw(ArraySlice(big), windowBits: 15, expectedSize: 300_000).count == 300_000)
    }
}
