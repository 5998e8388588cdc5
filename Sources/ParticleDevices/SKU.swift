/// How fast a SKU's SIM (re)activates when the device is pre-added to a product.
///
/// Source: Particle's "SIM activation speed" table (device-claiming docs), quoted in
/// `particle-cloud-and-factory.md` section 2.
public enum SIMActivationClass: String, Codable, Sendable, Hashable, CaseIterable {
    /// EtherSIM: seconds.
    case fast
    /// Older Electron/E310: usually fast, rarely up to a day.
    case generallyFast
    /// After a deactivate or release, reactivation can take tens of minutes to days:
    /// never release or deactivate these between a test account and the product.
    case sometimesSlow
    /// A 4FF SIM card: pre-adding the device does not activate it.
    case externalSIM
}

/// A sellable product variant (B404X, ONE524, ...) and the facts the station acts on.
public struct SKU: Codable, Sendable, Hashable {
    public let name: String
    /// The family a technician knows it by ("B-Series SoM B4xx", "Tracker One", ...).
    public let family: String
    public let simActivation: SIMActivationClass
    /// Battery-powered units (Tracker One, Monitor One) keep running after unplugging, so
    /// their final state must survive that without connecting.
    public let batteryPowered: Bool
    /// False where the class is inferred rather than read in Particle's table.
    public let simActivationConfirmed: Bool
    public let note: String?
}
