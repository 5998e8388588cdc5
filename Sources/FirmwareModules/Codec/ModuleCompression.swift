/// Compressed modules (flag 0x02): `prefix + compressed header + raw deflate + original
/// suffix + CRC`.
///
/// Without DROP_MODULE_INFO the stream holds the whole original file; with it, only the
/// payload between prefix and suffix, and decompression rebuilds the module and recomputes
/// its SHA-256 and CRC (as binary-version-reader's `decompressModule` does).
public enum ModuleCompression {
    /// The original module.
    /// - Throws: `ModuleError.invalidCompressedHeader` (not compressed, unknown method),
    ///   `.decompressionFailed`, or any parse error of the result.
    public static func decompress(_ module: FirmwareModule, codec: some DeflateCodec) throws(ModuleError) -> FirmwareModule {
        guard let header = module.compressedHeader else {
            throw .invalidCompressedHeader(offset: module.prefixOffset + module.prefixSize, reason: "the module is not compressed (flag 0x02 is clear)")
        }
        guard header.method == 0 else {
            throw .invalidCompressedHeader(offset: header.offset, reason: "compression method \(header.method) (expected 0, raw deflate)")
        }
        guard (8...15).contains(header.effectiveWindowBits) else {
            throw .invalidCompressedHeader(offset: header.offset, reason: "window bits \(header.windowBits) (expected 0 or 8-15)")
        }
        let n = module.size
        let streamStart = header.offset + header.headerSize
        let streamEnd = n - 4 - module.suffix.size
        guard streamStart <= streamEnd else {
            throw .invalidCompressedHeader(offset: header.offset, reason: "the suffix overlaps the compressed stream")
        }
        guard header.originalSize <= FirmwareModule.maximumSize else {
            throw .invalidCompressedHeader(offset: header.offset, reason: "it claims \(header.originalSize) bytes inflated; no Particle platform holds more than \(FirmwareModule.maximumSize)")
        }
        let inflated: [UInt8]
        do {
            inflated = try codec.inflateRaw(
                module.bytes[streamStart..<streamEnd], windowBits: header.effectiveWindowBits,
                expectedSize: Int(header.originalSize))
        } catch {
            throw .decompressionFailed(offset: streamStart, reason: error.reason)
        }
        guard inflated.count == Int(header.originalSize) else {
            throw .decompressionFailed(offset: streamStart, reason: "inflated to \(inflated.count) bytes, the header says \(header.originalSize)")
        }
        guard module.header.flags.contains(.dropModuleInfo) else {
            return try FirmwareModule(bytes: inflated)
        }
        var prefix = Array(module.bytes[module.prefixOffset..<(module.prefixOffset + module.prefixSize)])
        var fields = module.header
        fields.flags.remove(.compressed)
        fields.endAddress = fields.startAddress &+ UInt32(prefix.count + inflated.count + module.suffix.size)
        prefix.replaceSubrange(0..<ModuleHeader.size, with: fields.encoded)
        let suffix = module.bytes[(n - 4 - module.suffix.size)..<(n - 4)]
        return try FirmwareModule(bytes: try ModuleWriter.seal(prefix + inflated + suffix + [0, 0, 0, 0]))
    }

    /// Compresses a module the way binary-version-reader's `compressModule` does.
    /// - Throws: `ModuleError.compressionRefused` for combined or already compressed input, or
    ///   DROP_MODULE_INFO with the prefix not at offset 0.
    public static func compress(_ module: FirmwareModule, codec: some DeflateCodec) throws(ModuleError) -> FirmwareModule {
        let flags = module.header.flags
        if flags.contains(.combined) { throw .compressionRefused(reason: "it is combined; compress each part, then combine") }
        if flags.contains(.compressed) { throw .compressionRefused(reason: "it is already compressed") }
        let drop = flags.contains(.dropModuleInfo)
        if drop, module.prefixOffset != 0 {
            throw .compressionRefused(reason: "DROP_MODULE_INFO with the prefix at offset \(module.prefixOffset), not 0")
        }
        let n = module.size
        let input: ArraySlice<UInt8> = drop
            ? module.bytes[module.prefixSize..<(n - 4 - module.suffix.size)]
            : module.bytes[...]
        let stream: [UInt8]
        do {
            stream = try codec.deflateRaw(input)
        } catch {
            throw .compressionRefused(reason: error.reason)
        }
        var prefix = Array(module.bytes[module.prefixOffset..<(module.prefixOffset + module.prefixSize)])
        let header = CompressedHeader(offset: prefix.count, originalSize: UInt32(input.count))
        let suffix = module.bytes[(n - 4 - module.suffix.size)..<(n - 4)]
        var fields = module.header
        fields.flags.insert(.compressed)
        fields.endAddress = fields.startAddress &+ UInt32(prefix.count + header.headerSize + stream.count + suffix.count)
        prefix.replaceSubrange(0..<ModuleHeader.size, with: fields.encoded)
        return try FirmwareModule(bytes: try ModuleWriter.seal(prefix + header.encoded + stream + suffix + [0, 0, 0, 0]))
    }
}
