import Crypto

/// What a module to be written consists of. The writer computes the end address, suffix
/// size, SHA-256 and CRC.
public struct ModuleSpec: Hashable, Sendable {
    /// The prefix fields; `endAddress` is ignored and computed from the file size.
    public var header: ModuleHeader
    /// Bytes before the prefix (a vector table). Their length is the prefix offset.
    public var leadingBytes: [UInt8]
    /// Prefix extensions (sets flag 0x10); an END extension is appended, padded so the
    /// payload starts 8-byte aligned, as binary-version-reader does.
    public var prefixExtensions: [ModuleExtension]
    public var payload: [UInt8]
    /// Product ID and version in the suffix. Nil writes the 36-byte base suffix, which only
    /// works without suffix extensions.
    public var product: (id: UInt16, version: UInt16)?
    /// Suffix extensions, placed before the product fields; END is appended.
    public var suffixExtensions: [ModuleExtension]
    /// The reserved u16 ahead of the SHA-256.
    public var suffixReserved: UInt16
    /// How the SHA-256 field is computed.
    public var shaRule: SHARule

    public enum SHARule: Hashable, Sendable {
        /// SHA-256 of `[0, N-38)`: everything the Device OS build makes.
        case fileMinus38
        /// SHA-256 of the payload only: SoftDevice and NCP images.
        case payloadOnly
    }

    public init(
        header: ModuleHeader, leadingBytes: [UInt8] = [], prefixExtensions: [ModuleExtension] = [],
        payload: [UInt8], product: (id: UInt16, version: UInt16)? = nil,
        suffixExtensions: [ModuleExtension] = [], suffixReserved: UInt16 = 0, shaRule: SHARule = .fileMinus38
    ) {
        self.header = header
        self.leadingBytes = leadingBytes
        self.prefixExtensions = prefixExtensions
        self.payload = payload
        self.product = product
        self.suffixExtensions = suffixExtensions
        self.suffixReserved = suffixReserved
        self.shaRule = shaRule
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.header == rhs.header && lhs.leadingBytes == rhs.leadingBytes
            && lhs.prefixExtensions == rhs.prefixExtensions && lhs.payload == rhs.payload
            && lhs.product?.id == rhs.product?.id && lhs.product?.version == rhs.product?.version
            && lhs.suffixExtensions == rhs.suffixExtensions && lhs.suffixReserved == rhs.suffixReserved
            && lhs.shaRule == rhs.shaRule
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(header)
        hasher.combine(payload)
    }
}

/// Writes Particle module files: what the demo, the emulator and the tests flash.
public enum ModuleWriter {
    /// Encodes a module.
    /// - Throws: `ModuleError.unwritable` when the spec cannot form a module (suffix
    ///   extensions without product fields, a suffix over 65535 bytes).
    public static func write(_ spec: ModuleSpec) throws(ModuleError) -> [UInt8] {
        var header = spec.header
        var prefixTail: [UInt8] = []
        if !spec.prefixExtensions.isEmpty {
            header.flags.insert(.prefixExtensions)
            for ext in spec.prefixExtensions where ext.type != ModuleExtension.endType { prefixTail += ext.encoded }
            let unaligned = (ModuleHeader.size + prefixTail.count + ModuleExtension.headerSize) % 8
            prefixTail += ModuleExtension.end(padding: unaligned == 0 ? 0 : 8 - unaligned).encoded
        }

        var suffix: [UInt8] = []
        if !spec.suffixExtensions.isEmpty {
            guard spec.product != nil else {
                throw .unwritable(reason: "suffix extensions need the product ID and version fields after them")
            }
            for ext in spec.suffixExtensions where ext.type != ModuleExtension.endType { suffix += ext.encoded }
            suffix += ModuleExtension.end(padding: 0).encoded
        }
        if let product = spec.product {
            suffix.appendLE(product.id)
            suffix.appendLE(product.version)
        }
        suffix.appendLE(spec.suffixReserved)
        let shaOffsetInSuffix = suffix.count
        suffix += [UInt8](repeating: 0, count: 32)
        let suffixSize = suffix.count + 2
        guard suffixSize <= Int(UInt16.max) else { throw .unwritable(reason: "suffix of \(suffixSize) bytes (at most 65535)") }
        suffix.appendLE(UInt16(suffixSize))

        let total = spec.leadingBytes.count + ModuleHeader.size + prefixTail.count + spec.payload.count + suffix.count + 4
        guard total - 4 <= Int(UInt32.max - spec.header.startAddress) else {
            throw .unwritable(reason: "module of \(total) bytes does not fit above start address 0x\(String(spec.header.startAddress, radix: 16))")
        }
        header.endAddress = header.startAddress + UInt32(total - 4)

        var bytes = spec.leadingBytes + header.encoded + prefixTail + spec.payload + suffix + [0, 0, 0, 0]
        let shaOffset = total - 4 - suffix.count + shaOffsetInSuffix
        switch spec.shaRule {
        case .fileMinus38:
            bytes.replaceSubrange(shaOffset..<(shaOffset + 32), with: Array(SHA256.hash(data: bytes[0..<(total - 38)])))
        case .payloadOnly:
            let start = spec.leadingBytes.count + ModuleHeader.size
            bytes.replaceSubrange(shaOffset..<(shaOffset + 32), with: Array(SHA256.hash(data: bytes[start..<(total - 4 - suffix.count)])))
        }
        bytes.storeBE(CRC32.checksum(bytes[0..<(total - 4)]), at: total - 4)
        return bytes
    }

    /// Recomputes the SHA-256 field (over `[0, N-38)`) and the CRC of a complete module.
    /// - Throws: `.truncated` for fewer bytes than the smallest module (a decompressed or
    ///   split module rebuilt from a corrupt file can be that short).
    public static func seal(_ module: [UInt8]) throws(ModuleError) -> [UInt8] {
        var bytes = module
        let n = bytes.count
        guard n >= FirmwareModule.minimumSize else { throw .truncated(size: n, minimum: FirmwareModule.minimumSize) }
        bytes.replaceSubrange((n - 38)..<(n - 6), with: Array(SHA256.hash(data: bytes[0..<(n - 38)])))
        bytes.storeBE(CRC32.checksum(bytes[0..<(n - 4)]), at: n - 4)
        return bytes
    }
}
