import Foundation

/// The platform catalog: every platform the docs name, decoded from the bundled JSON.
///
/// Look platforms up by ID, by Device OS name, or by USB product ID (which also tells the
/// mode the device is in).
public struct PlatformCatalog: Sendable {
    /// Particle's USB vendor ID.
    public let vendorID: UInt16
    public let platforms: [Platform]
    private let byID: [PlatformID: Platform]

    /// The catalog compiled into the program (`Resources/platforms.json`).
    public static let bundled: PlatformCatalog = {
        do {
            return try PlatformCatalog(json: Data(PackageResources.platforms_json))
        } catch {
            // The resource is compiled in and decoded by the tests: failing here is a
            // programmer error, not something a technician can fix.
            preconditionFailure("the bundled platform catalog does not decode: \(error)")
        }
    }()

    /// Decodes a catalog; unknown keys are an error so that a typo in the data is loud.
    /// - Throws: `CatalogError.invalid` naming the problem.
    public init(json: Data) throws(CatalogError) {
        struct File: Codable { let vendorID: UInt16; let source: String; let platforms: [Platform] }
        let file: File
        do {
            file = try StrictJSON.decode(File.self, from: json)
        } catch {
            throw .invalid(resource: "platforms.json", reason: error.reason)
        }
        var byID: [PlatformID: Platform] = [:]
        for platform in file.platforms {
            guard byID.updateValue(platform, forKey: platform.id) == nil else {
                throw .invalid(resource: "platforms.json", reason: "platform \(platform.id) is listed twice")
            }
        }
        self.vendorID = file.vendorID
        self.platforms = file.platforms
        self.byID = byID
    }

    public func platform(id: PlatformID) -> Platform? { byID[id] }

    /// Looks a platform up by its Device OS name (`boron`), case-insensitively.
    public func platform(named name: String) -> Platform? {
        let wanted = name.lowercased()
        return platforms.first { $0.name == wanted }
    }

    /// The platform and mode a USB product ID belongs to (VID 0x2B04 assumed).
    public func platform(usbProductID pid: UInt16) -> (platform: Platform, mode: USBMode)? {
        for platform in platforms {
            guard let usb = platform.usb else { continue }
            if usb.normalProductID == pid { return (platform, .normal) }
            if usb.dfuProductID == pid { return (platform, .dfu) }
        }
        return nil
    }

    /// The platforms the station provisions (every field present).
    public var provisionable: [Platform] { platforms.filter(\.isProvisionable) }

    /// The platform that makes a SKU, with the SKU's entry.
    public func sku(named name: String) -> (platform: Platform, sku: SKU)? {
        let wanted = name.uppercased()
        for platform in platforms {
            if let sku = platform.skus?.first(where: { $0.name == wanted }) { return (platform, sku) }
        }
        return nil
    }
}

/// The USB personality a device shows.
public enum USBMode: String, Sendable, Hashable, Codable {
    /// CDC serial + vendor control interface.
    case normal
    /// The bootloader's DFU interface.
    case dfu
}

/// A bundled data file that does not decode.
public enum CatalogError: Error, Sendable, Equatable, CustomStringConvertible {
    case invalid(resource: String, reason: String)

    public var code: String { "CATALOG-INVALID" }
    public var description: String {
        switch self {
        case .invalid(let resource, let reason):
            return "The bundled \(resource) is invalid: \(reason). This is a build defect; report it with this message."
        }
    }
}
