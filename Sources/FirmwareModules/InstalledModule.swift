/// A module as a device holds it: which module it is (function, index, version), whether the
/// device holds it valid, and where it starts in flash when that is known (a DFU inventory
/// reads it from the flash; module info in normal mode does not say). The one value the
/// station's identify step reports, the planner plans against, and a job keeps for its
/// record (what the device held before and after).
public struct InstalledModule: Hashable, Sendable {
    public var identity: ModuleIdentity
    public var valid: Bool
    public var address: UInt32?
    /// The module's own SHA-256 (the suffix field Particle calls `fwUniqueId`), lower-case
    /// hex, as read over DFU or reported by the device (request 90's `hash`); nil when the
    /// channel gave none (a header-only read, the older reply shape, the console).
    public var sha256: String?

    public init(identity: ModuleIdentity, valid: Bool = true, address: UInt32? = nil, sha256: String? = nil) {
        self.identity = identity
        self.valid = valid
        self.address = address
        self.sha256 = sha256
    }

    public var function: ModuleFunction { identity.function }
    public var index: UInt8 { identity.index }
    public var version: UInt16 { identity.version }
}

extension InstalledModule: Codable {
    /// The keys `station identify --json` has always printed and saved jobs hold (the
    /// function as its number); `address` and `sha256` only when known (identify leaves the
    /// address out).
    enum CodingKeys: String, CodingKey { case moduleFunction, moduleIndex, moduleVersion, valid, address, sha256 }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        identity = ModuleIdentity(function: ModuleFunction(rawValue: UInt8(truncatingIfNeeded: try c.decode(Int.self, forKey: .moduleFunction))),
                                  index: UInt8(truncatingIfNeeded: try c.decode(Int.self, forKey: .moduleIndex)),
                                  version: UInt16(truncatingIfNeeded: try c.decode(Int.self, forKey: .moduleVersion)))
        valid = try c.decode(Bool.self, forKey: .valid)
        address = try c.decodeIfPresent(UInt32.self, forKey: .address)
        sha256 = try c.decodeIfPresent(String.self, forKey: .sha256)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Int(identity.function.rawValue), forKey: .moduleFunction)
        try c.encode(Int(identity.index), forKey: .moduleIndex)
        try c.encode(Int(identity.version), forKey: .moduleVersion)
        try c.encode(valid, forKey: .valid)
        try c.encodeIfPresent(address, forKey: .address)
        try c.encodeIfPresent(sha256, forKey: .sha256)
    }
}
