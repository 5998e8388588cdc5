import Foundation

/// Device Protection's three states (Device OS 6; `particle-cloud-and-factory.md` §8): an
/// open unit takes USB writes; a protected one refuses them (DFU shows every segment `b`,
/// control requests answer -1801 `DEVICE_PROTECTED`); one in Service Mode is protected but
/// temporarily open, for 20 reboots or 24 hours, after an exchange with the cloud.
public enum DeviceProtection: String, Sendable, Hashable, Codable, CaseIterable {
    case open, `protected`, service

    /// DFU string descriptor 0xFA, as Device OS 6.1.2+ bootloaders report it: `sm=o` open,
    /// `sm=p` protected, `sm=s` Service Mode (`particle-usb-protocol.md`, DFU layouts). Nil
    /// for any other text: the device did not say.
    public init?(dfuDescriptor text: String) {
        switch String(text.filter { !$0.isWhitespace && $0 != "\0" }) {
        case "sm=o": self = .open
        case "sm=p": self = .protected
        case "sm=s": self = .service
        default: return nil
        }
    }

    /// Request 76 (GET_PROTECTED_STATE)'s reply: `state` (protected) and `overridden`.
    /// Overridden protection is Service Mode, as particle-cli reads it (unconfirmed in the
    /// protocol notes: this is the one place that reading lives).
    public init(protectedState state: Bool, overridden: Bool) {
        self = overridden ? .service : state ? .protected : .open
    }

    /// Whether USB may write the unit: open, or in Service Mode when the line allows it.
    public func allowsWrites(serviceModeAllowed: Bool) -> Bool {
        switch self {
        case .open: true
        case .service: serviceModeAllowed
        case .protected: false
        }
    }
}

/// What the station and the emulator know of Device Protection, as data
/// (`Resources/device-protection.json`): the requests a protected device still answers over
/// USB, the minimums a protected product's firmware must meet, and where its bootloader must
/// be the protected variant. A wrong guess there is fixed in the file.
public struct DeviceProtectionRules: Sendable, Hashable {
    /// Control request types a protected device answers; every other gets -1801.
    public let allowedWhenProtected: Set<UInt16>
    /// The Device OS release a protected product needs at least (for messages).
    public let minimumDeviceOS: String
    /// The lowest system part version and bootloader version a protected device takes.
    public let minimumSystemPart: UInt16
    public let minimumBootloader: UInt16
    /// Platforms (catalog names) the bootloader minimum applies to.
    public let bootloaderMinimumPlatforms: Set<String>
    /// Platforms whose protected product needs the protected bootloader (SECURITY_MODE
    /// extension, mode 1); nil: every platform.
    public let protectedBootloaderPlatforms: Set<String>?

    struct File: Decodable {
        struct Allowed: Decodable { let requests: [UInt16] }
        struct Minimums: Decodable {
            let deviceOS: String
            let systemPart: UInt16
            let bootloader: UInt16
            let bootloaderPlatforms: [String]
        }
        struct Bootloader: Decodable { let platforms: [String]? }
        let allowedWhenProtected: Allowed
        let minimums: Minimums
        let protectedBootloader: Bootloader
    }

    public static let bundled: DeviceProtectionRules = {
        do {
            return try DeviceProtectionRules(json: Data(PackageResources.device_protection_json))
        } catch {
            fatalError("the bundled device-protection.json is invalid: \(error)")
        }
    }()

    public init(json: Data) throws {
        let file = try JSONDecoder().decode(File.self, from: json)
        guard DeviceOSRelease(file.minimums.deviceOS) != nil else {
            throw CatalogError.invalid(resource: "device-protection.json", reason: "minimums.deviceOS '\(file.minimums.deviceOS)' is not a release")
        }
        allowedWhenProtected = Set(file.allowedWhenProtected.requests)
        minimumDeviceOS = file.minimums.deviceOS
        minimumSystemPart = file.minimums.systemPart
        minimumBootloader = file.minimums.bootloader
        bootloaderMinimumPlatforms = Set(file.minimums.bootloaderPlatforms)
        protectedBootloaderPlatforms = file.protectedBootloader.platforms.map(Set.init)
    }

    /// Whether a protected product on `platform` needs the protected bootloader variant.
    public func needsProtectedBootloader(platform: String) -> Bool {
        protectedBootloaderPlatforms.map { $0.contains(platform) } ?? true
    }
}
