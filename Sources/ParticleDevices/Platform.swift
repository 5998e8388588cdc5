/// A Particle platform ID, as carried in module headers and by the cloud API.
///
/// Spec: `PLATFORM_ID` in Device OS `build/platform-id.mk`.
public struct PlatformID: RawRepresentable, Hashable, Sendable, Codable, Comparable,
    CustomStringConvertible
{
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public init(_ rawValue: UInt16) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(UInt16.self)
    }
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public static let electron = PlatformID(10)
    public static let boron = PlatformID(13)
    public static let esomx = PlatformID(15)
    public static let bsom = PlatformID(23)
    public static let b5som = PlatformID(25)
    public static let tracker = PlatformID(26)
}

/// The microcontroller family, which decides flash geometry, prefix offsets and timing.
public enum MCU: String, Codable, Sendable, Hashable {
    case stm32f103 = "STM32F103"
    case stm32f205 = "STM32F205"
    case nrf51 = "nRF51"
    case nrf52840 = "nRF52840"
    case rtl872x = "RTL872x"
}

/// One Particle platform. The six platforms the station provisions have every field; the
/// others the docs name carry their name and ID, and whatever else is known.
public struct Platform: Codable, Sendable, Hashable, Identifiable {
    public let id: PlatformID
    /// The Device OS name (`boron`, `bsom`, ...), as used in release file names.
    public let name: String
    public let displayName: String
    public let generation: Int?
    public let mcu: MCU?
    public let usb: USBIdentity?
    public let dfuAltSettings: [DFUAltSetting]?
    public let moduleSlots: ModuleSlots?
    public let externalFlashBytes: Int?
    public let trackerModels: [TrackerModel]?
    public let skus: [SKU]?

    /// Whether the catalog has everything the station needs to provision this platform.
    public var isProvisionable: Bool {
        generation != nil && mcu != nil && usb?.normalProductString != nil
            && dfuAltSettings != nil && moduleSlots != nil && !(skus ?? []).isEmpty
    }
}

/// USB identity of a platform in normal and DFU mode. VID is always 0x2B04.
public struct USBIdentity: Codable, Sendable, Hashable {
    public let normalProductID: UInt16
    public let dfuProductID: UInt16
    /// iProduct in normal mode, e.g. "Boron CDC Mode".
    public let normalProductString: String?
    /// iProduct in DFU mode, e.g. "Boron DFU Mode".
    public let dfuProductString: String?
    /// iInterface of the vendor control interface (#2) in normal mode.
    public let controlInterfaceString: String?
}

/// One DFU alternate setting and its DfuSe memory-layout string, exactly as the bootloader
/// reports it (`@Internal Flash   /0x00000000/1*004Ka,...`).
public struct DFUAltSetting: Codable, Sendable, Hashable {
    public let alt: UInt8
    public let layout: String
    /// Names older bootloaders use for the same alt (match loosely).
    public let legacyNames: [String]?
}

/// Which path writes a module: DfuSe over USB, or the control-request firmware update.
public enum FlashPath: String, Codable, Sendable, Hashable {
    case dfu
    case controlRequest
}

/// A flash region that holds one module function and index.
public struct ModuleSlot: Codable, Sendable, Hashable {
    public let index: UInt8
    /// First address of the region; absent where the module lives off the main MCU (NCP).
    public let start: UInt32?
    public let size: UInt32?
    /// Other addresses a module of this slot may start at (Gen 3 system part 1: 0x30000
    /// before Device OS 6.1.2).
    public let alternateStarts: [UInt32]?
    public let path: FlashPath
    /// The legacy 128 KB user-part slot on Gen 3.
    public let legacy: Bool?
    /// The lowest system-part module version that can run a module in this slot.
    public let minimumSystemModuleVersion: UInt16?
    public let note: String?

    /// One past the last address of the region.
    public var end: UInt32? {
        guard let start, let size else { return nil }
        return start + size
    }
}

/// Where each kind of module lives on a platform.
public struct ModuleSlots: Codable, Sendable, Hashable {
    public let bootloader: ModuleSlot
    public let radioStack: ModuleSlot?
    public let systemParts: [ModuleSlot]
    public let userParts: [ModuleSlot]
    public let ncp: ModuleSlot?
}

/// Tracker model codes (Device OS `hal/src/tracker/hal_platform_config.h`).
public struct TrackerModel: Codable, Sendable, Hashable {
    public let code: Int
    public let name: String
}
