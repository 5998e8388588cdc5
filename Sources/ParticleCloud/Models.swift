/// The answer to an import: device IDs (or whatever was sent: serials, ICCIDs) by array.
/// Every array is optional (older responses had fewer); arrays the client does not know
/// are kept, and count as needing attention.
public struct ImportResult: Hashable, Sendable {
    public var arrays: [String: [String]]
    public var updatedCount: Int?

    public init(arrays: [String: [String]], updatedCount: Int? = nil) {
        self.arrays = arrays
        self.updatedCount = updatedCount
    }

    /// Arrays that mean the device is in the product now.
    public static let doneArrays = ["updatedDeviceIds", "existingDeviceIds"]

    /// What the reply says about one sent value.
    public func outcome(for sent: String) -> ImportOutcome {
        let matches: (String) -> Bool = { $0.lowercased() == sent.lowercased() }
        if arrays["updatedDeviceIds"]?.contains(where: matches) == true { return .done(alreadyPresent: false) }
        if arrays["existingDeviceIds"]?.contains(where: matches) == true { return .done(alreadyPresent: true) }
        for (name, values) in arrays.sorted(by: { $0.key < $1.key }) where !Self.doneArrays.contains(name) && values.contains(where: matches) {
            return .needsAttention(array: name, reason: Self.reason(name))
        }
        return .notMentioned
    }

    /// Plain words for an array name.
    public static func reason(_ array: String) -> String {
        switch array {
        case "nonmemberDeviceIds": "the device belongs to another account and could not be imported"
        case "invalidDeviceIds": "invalid for this product: a wrong platform, an unknown ID, or already in another product"
        case "protectedDeviceIds": "the device has Device Protection and cannot be imported this way"
        default: "the cloud listed it under \(array), which the station does not know; treated as not imported"
        }
    }
}

public enum ImportOutcome: Hashable, Sendable {
    case done(alreadyPresent: Bool)
    case needsAttention(array: String, reason: String)
    /// Not in any array of the reply (treated as not imported; retried).
    case notMentioned
}

/// A device as the API describes it; every field optional.
public struct CloudDevice: Hashable, Sendable, Decodable {
    public var id: String?
    public var name: String?
    public var serialNumber: String?
    public var iccid: String?
    public var imei: String?
    public var platformID: Int?
    public var productID: Int?
    public var online: Bool?
    public var owner: String?
    public var groups: [String]?
    public var development: Bool?
    public var quarantined: Bool?

    enum CodingKeys: String, CodingKey {
        case id, name, iccid, imei, online, owner, groups, development, quarantined
        case serialNumber = "serial_number", platformID = "platform_id", productID = "product_id"
    }
}

public struct DevicePage: Hashable, Sendable, Decodable {
    public struct Meta: Hashable, Sendable, Decodable {
        public var totalPages: Int?
        enum CodingKeys: String, CodingKey { case totalPages = "total_pages" }
    }
    public var devices: [CloudDevice]?
    public var meta: Meta?
}

public struct TokenInfo: Hashable, Sendable, Decodable {
    public var scopes: [String]?
    public var client: String?
    public var expiresAt: String?
    enum CodingKeys: String, CodingKey { case scopes, client, expiresAt = "expires_at" }
}

public enum SIMAction: String, Sendable { case activate, deactivate, reactivate }

/// The product path segment: a numeric ID or a slug.
public struct ProductKey: Hashable, Sendable, CustomStringConvertible {
    public let text: String
    public init(_ text: String) { self.text = text }
    public var description: String { text }
}
