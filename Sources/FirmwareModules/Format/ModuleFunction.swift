/// What a module is. Unknown codes are kept (a corrupt or future file must still inspect).
///
/// Spec: `MOD_FUNC_*` in Device OS `dynalib/inc/module_info.h`.
public struct ModuleFunction: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// `MOD_FUNC_NONE` (0): no module, or "no dependency" in a dependency slot.
    public static let none = Self(rawValue: 0)
    public static let resource = Self(rawValue: 1)
    public static let bootloader = Self(rawValue: 2)
    /// `MOD_FUNC_MONO_FIRMWARE` (3): complete system and application.
    public static let monoFirmware = Self(rawValue: 3)
    public static let systemPart = Self(rawValue: 4)
    public static let userPart = Self(rawValue: 5)
    public static let settings = Self(rawValue: 6)
    /// `MOD_FUNC_NCP_FIRMWARE` (7): network co-processor (ESP32).
    public static let ncpFirmware = Self(rawValue: 7)
    /// `MOD_FUNC_RADIO_STACK` (8): the Nordic SoftDevice.
    public static let radioStack = Self(rawValue: 8)
    public static let asset = Self(rawValue: 9)

    /// `MODULE_FUNCTION_MAX`.
    public static let maximumKnown: UInt8 = 9

    public var isKnown: Bool { rawValue <= Self.maximumKnown }

    /// binary-version-reader's name (`systemPart`, `radioStack`, ...).
    public var name: String {
        switch rawValue {
        case 0: "none"
        case 1: "resource"
        case 2: "bootloader"
        case 3: "monoFirmware"
        case 4: "systemPart"
        case 5: "userPart"
        case 6: "settings"
        case 7: "ncpFirmware"
        case 8: "radioStack"
        case 9: "asset"
        default: "unknown(\(rawValue))"
        }
    }

    public var description: String { name }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(UInt8.self)
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Module flags (byte 9 of the prefix).
///
/// Spec: `module_info_flags_t` in Device OS `dynalib/inc/module_info.h`.
public struct ModuleFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// `MODULE_INFO_FLAG_DROP_MODULE_INFO`: the prefix is not written to flash.
    public static let dropModuleInfo = ModuleFlags(rawValue: 0x01)
    /// `MODULE_INFO_FLAG_COMPRESSED`: the payload is a raw deflate stream.
    public static let compressed = ModuleFlags(rawValue: 0x02)
    /// `MODULE_INFO_FLAG_COMBINED`: another module follows in the same file.
    public static let combined = ModuleFlags(rawValue: 0x04)
    /// `MODULE_INFO_FLAG_ENCRYPTED`: defined, never used by any tool.
    public static let encrypted = ModuleFlags(rawValue: 0x08)
    /// `MODULE_INFO_FLAG_PREFIX_EXTENSIONS`: TLV extensions follow the 24-byte prefix.
    public static let prefixExtensions = ModuleFlags(rawValue: 0x10)

    /// Bits no tool defines.
    public var unknownBits: UInt8 { rawValue & ~0x1F }

    public var names: [String] {
        var names: [String] = []
        if contains(.dropModuleInfo) { names.append("DROP_MODULE_INFO") }
        if contains(.compressed) { names.append("COMPRESSED") }
        if contains(.combined) { names.append("COMBINED") }
        if contains(.encrypted) { names.append("ENCRYPTED") }
        if contains(.prefixExtensions) { names.append("PREFIX_EXTENSIONS") }
        if unknownBits != 0 { names.append("0x" + String(unknownBits, radix: 16)) }
        return names
    }
}
