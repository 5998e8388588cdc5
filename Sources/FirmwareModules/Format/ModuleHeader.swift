/// The 24-byte module prefix, `module_info_t`, little-endian and packed.
///
/// Spec: Device OS `dynalib/inc/module_info.h` (static asserts on every offset).
public struct ModuleHeader: Hashable, Sendable {
    public static let size = 24

    /// Flash address of byte 0 of the file (for DROP_MODULE_INFO modules: of the byte after
    /// the prefix).
    public var startAddress: UInt32
    /// Address of the first CRC byte: the module occupies `[start, end)` then 4 CRC bytes.
    public var endAddress: UInt32
    /// Platform-specific (MCU target on Gen 3: 0 primary, 0xFF any, 33 ESP32 NCP).
    public var reserved: UInt8
    public var flags: ModuleFlags
    public var version: UInt16
    public var platformID: UInt16
    public var function: ModuleFunction
    public var index: UInt8
    public var dependency: ModuleDependency
    public var dependency2: ModuleDependency

    public init(
        startAddress: UInt32, endAddress: UInt32, reserved: UInt8 = 0, flags: ModuleFlags = [],
        version: UInt16, platformID: UInt16, function: ModuleFunction, index: UInt8,
        dependency: ModuleDependency = .none, dependency2: ModuleDependency = .none
    ) {
        self.startAddress = startAddress
        self.endAddress = endAddress
        self.reserved = reserved
        self.flags = flags
        self.version = version
        self.platformID = platformID
        self.function = function
        self.index = index
        self.dependency = dependency
        self.dependency2 = dependency2
    }

    /// Reads the 24 bytes at `offset`; the caller guarantees they exist.
    init(bytes: [UInt8], at offset: Int) {
        precondition(offset >= 0 && offset + Self.size <= bytes.count, "prefix read out of bounds")
        startAddress = bytes.u32le(at: offset)
        endAddress = bytes.u32le(at: offset + 4)
        reserved = bytes[offset + 8]
        flags = ModuleFlags(rawValue: bytes[offset + 9])
        version = bytes.u16le(at: offset + 10)
        platformID = bytes.u16le(at: offset + 12)
        function = ModuleFunction(rawValue: bytes[offset + 14])
        index = bytes[offset + 15]
        dependency = ModuleDependency(
            function: ModuleFunction(rawValue: bytes[offset + 16]), index: bytes[offset + 17],
            version: bytes.u16le(at: offset + 18))
        dependency2 = ModuleDependency(
            function: ModuleFunction(rawValue: bytes[offset + 20]), index: bytes[offset + 21],
            version: bytes.u16le(at: offset + 22))
    }

    /// The 24 encoded bytes.
    public var encoded: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.size)
        out.appendLE(startAddress)
        out.appendLE(endAddress)
        out.append(reserved)
        out.append(flags.rawValue)
        out.appendLE(version)
        out.appendLE(platformID)
        out.append(function.rawValue)
        out.append(index)
        for dependency in [dependency, dependency2] {
            out.append(dependency.function.rawValue)
            out.append(dependency.index)
            out.appendLE(dependency.version)
        }
        return out
    }

    public var identity: ModuleIdentity { ModuleIdentity(function: function, index: index, version: version) }

    /// The dependencies that are set (function != 0).
    public var dependencies: [ModuleDependency] { [dependency, dependency2].filter { !$0.isNone } }
}

extension ModuleHeader {
    /// Where a prefix can sit relative to the module's first byte: 0, 0x184 behind a Gen 2
    /// vector table, 0x200 behind a Gen 3 one.
    public static let prefixOffsetsInFlash = [0, 0x184, 0x200]

    /// The header of a module of `function` that starts at `moduleStart`, found in `span` (the
    /// bytes read from flash at `moduleStart`, at least 0x218 long to cover every offset):
    /// its start address must equal `moduleStart` and its end must lie after it.
    public static func located(in span: [UInt8], moduleStart: UInt32, function: ModuleFunction) -> ModuleHeader? {
        for offset in prefixOffsetsInFlash where offset + size <= span.count {
            let header = ModuleHeader(bytes: span, at: offset)
            if header.startAddress == moduleStart, header.endAddress > header.startAddress, header.function == function {
                return header
            }
        }
        return nil
    }
}
