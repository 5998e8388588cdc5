import TextFormats
import Crypto

/// A parsed Particle module file: what binary-version-reader's `parseBuffer` reports, plus
/// the SHA-256 checks it does not make.
///
/// A combined file parses like the reference does (first prefix, last suffix, failing CRC);
/// use `CombinedModule.split` for its parts.
public struct FirmwareModule: Hashable, Sendable {
    /// The smallest module: prefix, base suffix and CRC.
    public static let minimumSize = ModuleHeader.size + ModuleSuffix.baseSize + 4
    /// The largest module any Particle platform can hold: 16 MiB, twice the largest flash
    /// (8 MiB, the external flash of P2, M-SoM and Tracker). A size read from a file or a
    /// device above it is refused before anything is allocated for it.
    public static let maximumSize = 16 * 1024 * 1024

    /// The file, unchanged.
    public let bytes: [UInt8]
    /// Where the 24-byte prefix sits (0, 0x200 behind a Gen 3 vector table, 0x184 Gen 2, ...).
    public let prefixOffset: Int
    /// 24, or 24 plus the prefix extensions (flag 0x10).
    public let prefixSize: Int
    public let header: ModuleHeader
    public let prefixExtensions: [LocatedExtension]
    public let suffix: ModuleSuffix
    /// The trailing CRC-32 as stored (big-endian).
    public let storedCRC: UInt32
    /// CRC-32 over `[0, N-4)`.
    public let computedCRC: UInt32
    /// SHA-256 over `[0, N-38)`: the rule for everything the Device OS build makes.
    public let sha256OfFile: [UInt8]
    /// SHA-256 of the payload between the 24-byte prefix and the suffix: the rule observed on
    /// radio stacks and NCP images. Nil when that range does not exist.
    public let sha256OfPayload: [UInt8]?
    /// Present when flag 0x02 is set.
    public let compressedHeader: CompressedHeader?

    public var size: Int { bytes.count }
    public var crcValid: Bool { storedCRC == computedCRC }
    public var sha256MatchesFile: Bool { suffix.sha256 == sha256OfFile }
    public var sha256MatchesPayload: Bool { sha256OfPayload == suffix.sha256 }
    /// The stored SHA-256 is right by the rule that applies to this module's function.
    public var sha256Valid: Bool {
        if sha256MatchesFile { return true }
        return (header.function == .radioStack || header.function == .ncpFirmware) && sha256MatchesPayload
    }
    /// `N == end - start + 4`.
    public var sizeMatchesAddresses: Bool {
        header.endAddress > header.startAddress && Int(header.endAddress - header.startAddress) + 4 == size
    }
    /// The product ID, or nil when the suffix has none (size < 40).
    /// The SECURITY_MODE extension's mode (0 none, 1 protected: the bootloader of a
    /// protected device), from the prefix or the suffix, first found; nil without one.
    public var securityMode: UInt8? {
        for located in prefixExtensions + suffix.extensions {
            if case .securityMode(let mode, _) = located.value { return mode }
        }
        return nil
    }
    public var productID: UInt16? { suffix.productID }
    public var productVersion: UInt16? { suffix.productVersion }

    /// Parses a module file.
    /// - Throws: `ModuleError.empty`, `.truncated`, `.invalidExtensionLength`,
    ///   `.prefixExtensionsWithoutEnd`, `.invalidCompressedHeader`.
    public init(bytes: [UInt8], locator: PrefixLocator = .standard) throws(ModuleError) {
        guard !bytes.isEmpty else { throw .empty }
        guard bytes.count >= Self.minimumSize else { throw .truncated(size: bytes.count, minimum: Self.minimumSize) }
        let n = bytes.count
        self.bytes = bytes
        prefixOffset = locator.locate(in: bytes)
        header = ModuleHeader(bytes: bytes, at: prefixOffset)

        if header.flags.contains(.prefixExtensions) {
            let (extensions, end) = try Self.readPrefixExtensions(bytes, prefixOffset: prefixOffset)
            prefixExtensions = extensions
            prefixSize = end - prefixOffset
        } else {
            prefixExtensions = []
            prefixSize = ModuleHeader.size
        }

        suffix = try Self.readSuffix(bytes)
        storedCRC = bytes.u32be(at: n - 4)
        computedCRC = CRC32.checksum(bytes[0..<(n - 4)])
        sha256OfFile = Array(SHA256.hash(data: bytes[0..<(n - 38)]))
        let payloadStart = prefixOffset + ModuleHeader.size
        let payloadEnd = n - 4 - suffix.size
        sha256OfPayload = payloadStart <= payloadEnd ? Array(SHA256.hash(data: bytes[payloadStart..<payloadEnd])) : nil
        compressedHeader = header.flags.contains(.compressed)
            ? try CompressedHeader(bytes: bytes, at: prefixOffset + prefixSize, limit: max(0, n - 4 - suffix.size))
            : nil
    }

    /// Prefix extensions start right after the 24 bytes and must end with END.
    private static func readPrefixExtensions(
        _ bytes: [UInt8], prefixOffset: Int
    ) throws(ModuleError) -> ([LocatedExtension], end: Int) {
        var extensions: [LocatedExtension] = []
        var offset = prefixOffset + ModuleHeader.size
        let limit = bytes.count - 40
        while offset < limit, offset + ModuleExtension.headerSize <= bytes.count {
            let type = bytes.u16le(at: offset)
            let length = Int(bytes.u16le(at: offset + 2))
            if type == ModuleExtension.invalidType { break }
            guard length >= ModuleExtension.headerSize else {
                throw .invalidExtensionLength(offset: offset, length: length)
            }
            guard offset + length <= bytes.count else { break }
            let value = ModuleExtension.decode(type: type, body: bytes[(offset + 4)..<(offset + length)])
            extensions.append(LocatedExtension(offset: offset, length: length, value: value))
            offset += length
            if type == ModuleExtension.endType { return (extensions, offset) }
        }
        throw .prefixExtensionsWithoutEnd(offset: offset)
    }

    /// Reads the suffix from the end, and its extensions when it is larger than 40 bytes.
    private static func readSuffix(_ bytes: [UInt8]) throws(ModuleError) -> ModuleSuffix {
        let n = bytes.count
        let size = Int(bytes.u16le(at: n - 6))
        let hasProduct = size >= ModuleSuffix.productSize
        var extensions: [LocatedExtension] = []
        if size > ModuleSuffix.productSize {
            var offset = n - 4 - size
            while offset > 0, offset < n - 4 - ModuleSuffix.baseSize {
                guard offset + ModuleExtension.headerSize <= n else { break }
                let type = bytes.u16le(at: offset)
                let length = Int(bytes.u16le(at: offset + 2))
                if type == ModuleExtension.invalidType { break }
                guard length >= ModuleExtension.headerSize else {
                    throw .invalidExtensionLength(offset: offset, length: length)
                }
                guard offset + length <= n else { break }
                let value = ModuleExtension.decode(type: type, body: bytes[(offset + 4)..<(offset + length)])
                extensions.append(LocatedExtension(offset: offset, length: length, value: value))
                offset += length
                if type == ModuleExtension.endType { break }
            }
        }
        return ModuleSuffix(
            size: size,
            productID: hasProduct ? bytes.u16le(at: n - 44) : nil,
            productVersion: hasProduct ? bytes.u16le(at: n - 42) : nil,
            reserved: bytes.u16le(at: n - 40),
            sha256: Array(bytes[(n - 38)..<(n - 6)]),
            extensions: extensions)
    }
}

extension FirmwareModule {
    /// The bytes that land in flash and the address of the first one.
    ///
    /// DROP_MODULE_INFO modules (the Gen 3 radio stack): the 24-byte prefix is dropped and
    /// the rest of the file, suffix and CRC included, is written at the header's start
    /// address. Every other module is written whole at the start address.
    public var flashImage: (address: UInt32, bytes: ArraySlice<UInt8>) {
        if header.flags.contains(.dropModuleInfo), prefixOffset == 0 {
            return (header.startAddress, bytes[ModuleHeader.size...])
        }
        return (header.startAddress, bytes[...])
    }
}

/// SHA-256 of whole files, as firmware manifests pin them.
public enum FileDigest {
    /// Lowercase hex SHA-256 of `bytes`.
    public static func sha256(_ bytes: some Collection<UInt8>) -> String {
        Hex.encode(Array(SHA256.hash(data: Array(bytes))))
    }
}
