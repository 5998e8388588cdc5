import TextFormats

/// The report `station inspect` prints for one file. Keys shared with the shared fixtures'
/// `EXPECTED.json` use its names and shapes exactly (`moduleStartAddy` is the lowercase hex
/// string without `0x`, `productId` is -1 when the suffix has no product fields, ...).
public struct ModuleInspection: Codable, Hashable, Sendable {
    public struct Dependency: Codable, Hashable, Sendable {
        public let `func`: Int
        public let index: Int
        public let version: Int
    }
    public struct CRC: Codable, Hashable, Sendable {
        public let stored: String
        public let computed: String
        public let valid: Bool
    }
    public struct SHA256Field: Codable, Hashable, Sendable {
        public let stored: String
        public let computedOverFileMinus38: String
        public let matchesFileMinus38: Bool
        public let matchesPayloadOnly: Bool
    }
    public struct Compressed: Codable, Hashable, Sendable {
        public let offset: Int
        public let headerSize: Int
        public let method: Int
        public let windowBits: Int
        public let originalSize: Int
    }
    public struct CombinedPart: Codable, Hashable, Sendable {
        public let offset: Int
        public let size: Int
        public let platformID: Int
        public let moduleFunction: Int
        public let moduleIndex: Int
        public let moduleVersion: Int
        public let flags: Int
        public let prefixOffset: Int
        public let crcValid: Bool
    }
    public struct Extension: Codable, Hashable, Sendable {
        public let offset: Int
        public let type: String
        public let length: Int
    }

    public var file: String
    public var platformID: Int
    public var platformName: String?
    public var moduleFunction: Int
    public var moduleFunctionName: String
    public var moduleIndex: Int
    public var moduleVersion: Int
    public var deviceOSRelease: String?
    public var moduleStartAddy: String
    public var moduleEndAddy: String
    public var moduleStartAddress: Int
    public var moduleEndAddress: Int
    public var sizeMatchesAddresses: Bool
    public var reserved: Int
    public var flags: Int
    public var flagNames: [String]
    public var dependency: Dependency
    public var dependency2: Dependency
    public var prefixOffset: Int
    public var prefixSize: Int
    public var crc: CRC
    public var suffixSize: Int
    public var productId: Int
    public var productVersion: Int
    public var sha256Field: SHA256Field
    /// The stored SHA-256 is right by the rule for this module's function.
    public var sha256Valid: Bool
    public var prefixExtensions: [Extension]?
    public var suffixExtensions: [Extension]?
    public var compressedHeader: Compressed?
    /// The decompressed module, inspected (compressed files).
    public var decompressed: [ModuleInspection]?
    public var combinedParts: [CombinedPart]?
    /// Each part of a combined file, inspected (decompressed where compressed).
    public var parts: [ModuleInspection]?

    /// Builds the report of a parsed module; `file` is how the caller names it.
    public init(file: String, module m: FirmwareModule) {
        let h = m.header
        self.file = file
        platformID = Int(h.platformID)
        moduleFunction = Int(h.function.rawValue)
        moduleFunctionName = h.function.name
        moduleIndex = Int(h.index)
        moduleVersion = Int(h.version)
        moduleStartAddy = String(h.startAddress, radix: 16)
        moduleEndAddy = String(h.endAddress, radix: 16)
        moduleStartAddress = Int(h.startAddress)
        moduleEndAddress = Int(h.endAddress)
        sizeMatchesAddresses = m.sizeMatchesAddresses
        reserved = Int(h.reserved)
        flags = Int(h.flags.rawValue)
        flagNames = h.flags.names
        dependency = Dependency(h.dependency)
        dependency2 = Dependency(h.dependency2)
        prefixOffset = m.prefixOffset
        prefixSize = m.prefixSize
        crc = CRC(stored: Hex.word(m.storedCRC), computed: Hex.word(m.computedCRC), valid: m.crcValid)
        suffixSize = m.suffix.size
        productId = m.productID.map(Int.init) ?? -1
        productVersion = m.productVersion.map(Int.init) ?? -1
        sha256Field = SHA256Field(
            stored: Hex.encode(m.suffix.sha256), computedOverFileMinus38: Hex.encode(m.sha256OfFile),
            matchesFileMinus38: m.sha256MatchesFile, matchesPayloadOnly: m.sha256MatchesPayload)
        sha256Valid = m.sha256Valid
        prefixExtensions = m.prefixExtensions.isEmpty ? nil : m.prefixExtensions.map(Extension.init)
        suffixExtensions = m.suffix.extensions.isEmpty ? nil : m.suffix.extensions.map(Extension.init)
        compressedHeader = m.compressedHeader.map {
            Compressed(offset: $0.offset, headerSize: $0.headerSize, method: Int($0.method),
                       windowBits: Int($0.windowBits), originalSize: Int($0.originalSize))
        }
    }

    private enum CodingKeys: String, CodingKey {
        case file, platformID, platformName, moduleFunction, moduleFunctionName, moduleIndex, moduleVersion,
            deviceOSRelease, moduleStartAddy, moduleEndAddy, moduleStartAddress, moduleEndAddress,
            sizeMatchesAddresses, reserved, flags, flagNames, dependency, dependency2, prefixOffset, prefixSize,
            crc, suffixSize, productId, productVersion, sha256Field, sha256Valid, prefixExtensions,
            suffixExtensions, compressedHeader, decompressed, combinedParts, parts
    }

    /// Inspects a whole file: the whole-file parse (as the reference does it), plus each part
    /// of a combined file and the decompressed form of a compressed one.
    /// - Throws: the whole-file parse's `ModuleError`. Failures of parts are reported inside.
    public static func inspect(file: String, bytes: [UInt8], codec: some DeflateCodec) throws(ModuleError) -> ModuleInspection {
        let module = try FirmwareModule(bytes: bytes)
        var report = ModuleInspection(file: file, module: module)
        if module.header.flags.contains(.combined) {
            let split = try CombinedModule.split(bytes)
            report.combinedParts = split.map { CombinedPart($0) }
            report.parts = try split.map { part throws(ModuleError) in
                let module = try part.standalone()
                return try expand(ModuleInspection(file: "\(file)@\(part.offset)", module: module), module, codec: codec)
            }
        } else {
            report = try expand(report, module, codec: codec)
        }
        return report
    }

    private static func expand(_ report: ModuleInspection, _ module: FirmwareModule, codec: some DeflateCodec) throws(ModuleError) -> ModuleInspection {
        guard module.header.flags.contains(.compressed) else { return report }
        var report = report
        let original = try ModuleCompression.decompress(module, codec: codec)
        report.decompressed = [ModuleInspection(file: report.file + " (decompressed)", module: original)]
        return report
    }
}

extension ModuleInspection.Dependency {
    init(_ dependency: ModuleDependency) {
        self.init(func: Int(dependency.function.rawValue), index: Int(dependency.index), version: Int(dependency.version))
    }
}

extension ModuleInspection.CombinedPart {
    init(_ part: CombinedModule.Part) {
        let h = part.module.header
        self.init(
            offset: part.offset, size: part.module.size, platformID: Int(h.platformID),
            moduleFunction: Int(h.function.rawValue), moduleIndex: Int(h.index), moduleVersion: Int(h.version),
            flags: Int(h.flags.rawValue), prefixOffset: part.module.prefixOffset, crcValid: part.module.crcValid)
    }
}

extension ModuleInspection.Extension {
    init(_ located: LocatedExtension) {
        self.init(offset: located.offset, type: located.value.typeName, length: located.length)
    }
}
