/// A module as a device holds it: which module it is (function, index, version), whether the
/// device holds it valid, and where it starts in flash when that is known (a DFU inventory
/// reads it from the flash; module info in normal mode does not say). The one value the
/// station's identify step reports, the planner plans against, and a job keeps for its
/// record (what the device held before and after).
public struct InstalledModule: Hashable, Sendable {
    public var identity: ModuleIdentity
    public var valid: Bool
    public var address: UInt32?

    public init(identity: ModuleIdentity, valid: Bool = true, address: UInt32? = nil) {
        self.identity = identity
        self.valid = valid
        self.address = address
    }

    public var function: ModuleFunction { identity.function }
    public var index: UInt8 { identity.index }
    public var version: UInt16 { identity.version }
}

extension InstalledModule: Codable {
    /// The keys `station identify --json` has always printed and saved jobs hold (the
    /// function as its number); `address` only when known (identify leaves it out, so its
    /// output keeps its shape).
    enum CodingKeys: String, CodingKey { case moduleFunction, moduleIndex, moduleVersion, valid, address }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        identity = ModuleIdentity(function: ModuleFunction(rawValue: UInt8(truncatingIfNeeded: try c.decode(Int.self, forKey: .moduleFunction))),
                                  index: UInt8(truncatingIfNeeded: try c.decode(Int.self, forKey: .moduleIndex)),
                                  version: UInt16(truncatingIfNeeded: try c.decode(Int.self, forKey: .moduleVersion)))
        valid = try c.decode(Bool.self, forKey: .valid)
        address = try c.decodeIfPresent(UInt32.self, forKey: .address)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Int(identity.function.rawValue), forKey: .moduleFunction)
        try c.encode(Int(identity.index), forKey: .moduleIndex)
        try c.encode(Int(identity.version), forKey: .moduleVersion)
        try c.encode(valid, forKey: .valid)
        try c.encodeIfPresent(address, forKey: .address)
    }
}
