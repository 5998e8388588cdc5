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
