/// Combined modules (flag 0x04): complete modules concatenated; every part but the last has
/// COMBINED set.
///
/// Spec: binary-version-reader `combineModules` / `splitCombinedModules`.
public enum CombinedModule {
    /// One part of a combined file and where it starts.
    public struct Part: Hashable, Sendable {
        public let offset: Int
        /// The part as it sits in the combined file (COMBINED still set on all but the last).
        public let module: FirmwareModule

        /// The module as it was before combining: COMBINED cleared and, where it was set,
        /// SHA-256 and CRC recomputed (binary-version-reader's `splitCombinedModules`).
        public func standalone() throws(ModuleError) -> FirmwareModule {
            guard module.header.flags.contains(.combined) else { return module }
            var header = module.header
            header.flags.remove(.combined)
            var bytes = module.bytes
            bytes.replaceSubrange(module.prefixOffset..<(module.prefixOffset + ModuleHeader.size), with: header.encoded)
            return try FirmwareModule(bytes: try ModuleWriter.seal(bytes))
        }
    }

    /// Splits a combined file into its modules. A file without COMBINED is one part.
    /// - Throws: `ModuleError.invalidCombinedPart` when a part runs past the end or data
    ///   follows the last part, or any parse error of a part.
    public static func split(_ bytes: [UInt8], locator: PrefixLocator = .standard) throws(ModuleError) -> [Part] {
        guard !bytes.isEmpty else { throw .empty }
        var parts: [Part] = []
        var offset = 0
        while true {
            let remaining = offset..<bytes.count
            let prefixOffset = locator.locate(in: bytes, range: remaining, trailingData: true)
            guard prefixOffset + ModuleHeader.size <= remaining.count else {
                throw .invalidCombinedPart(offset: offset, reason: "no module prefix fits in the remaining \(remaining.count) bytes")
            }
            let header = ModuleHeader(bytes: bytes, at: offset + prefixOffset)
            guard header.endAddress > header.startAddress else {
                throw .invalidCombinedPart(offset: offset, reason: "end address 0x\(String(header.endAddress, radix: 16)) is not after start address 0x\(String(header.startAddress, radix: 16))")
            }
            let size = Int(header.endAddress - header.startAddress) + 4
            guard size <= remaining.count else {
                throw .invalidCombinedPart(offset: offset, reason: "the part claims \(size) bytes, only \(remaining.count) remain")
            }
            let module = try FirmwareModule(bytes: Array(bytes[offset..<(offset + size)]), locator: locator)
            parts.append(Part(offset: offset, module: module))
            offset += size
            if !header.flags.contains(.combined) { break }
            guard offset < bytes.count else {
                throw .invalidCombinedPart(offset: offset, reason: "the last part has COMBINED set but the file ends")
            }
        }
        guard offset == bytes.count else {
            throw .invalidCombinedPart(offset: offset, reason: "\(bytes.count - offset) bytes follow the last part (COMBINED clear)")
        }
        return parts
    }

    /// Combines modules into one file: COMBINED is set on every part but the last, and each
    /// changed part's SHA-256 and CRC are recomputed.
    public static func combine(_ modules: [FirmwareModule]) throws(ModuleError) -> [UInt8] {
        guard !modules.isEmpty else { throw .unwritable(reason: "nothing to combine") }
        var out: [UInt8] = []
        for (position, module) in modules.enumerated() {
            var bytes = module.bytes
            var header = module.header
            let isLast = position == modules.count - 1
            if isLast { header.flags.remove(.combined) } else { header.flags.insert(.combined) }
            if header.flags != module.header.flags {
                bytes.replaceSubrange(module.prefixOffset..<(module.prefixOffset + ModuleHeader.size), with: header.encoded)
                bytes = try ModuleWriter.seal(bytes)
            }
            out += bytes
        }
        return out
    }
}
