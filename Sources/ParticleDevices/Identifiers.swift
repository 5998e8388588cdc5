/// A validated text identifier: it is built only through its validating initialiser, and it
/// encodes as its normalised text (decoding validates again).
public protocol StringIdentifier: Codable, Hashable, Sendable {
    var rawValue: String { get }
    init(_ text: String) throws(IdentifierError)
}

extension StringIdentifier {
    public init(from decoder: any Decoder) throws {
        try self.init(decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// A device ID: 12 bytes shown as 24 hex characters, normalised to lowercase.
///
/// Gen 2 devices under Device OS 0.6.x and the raw 0x50 request report it in uppercase, so
/// parsing is case-insensitive and comparison is on the normalised value.
public struct DeviceID: StringIdentifier, Comparable, CustomStringConvertible {
    public let rawValue: String

    public init(_ text: String) throws(IdentifierError) {
        guard !text.isEmpty else { throw .empty(.deviceID) }
        for (index, character) in text.enumerated() where !character.isHexDigit || character.asciiValue == nil {
            throw .invalidCharacter(.deviceID, character: character, position: index + 1)
        }
        guard text.count == 24 else { throw .wrongLength(.deviceID, found: text.count, expected: 24...24) }
        rawValue = text.lowercased()
    }

    public var description: String { rawValue }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.rawValue < rhs.rawValue }

}

/// A SIM's ICCID: 18 to 22 digits, the last a Luhn check digit (ITU-T E.118).
public struct ICCID: StringIdentifier, CustomStringConvertible {
    public static let lengths = 18...22
    public let rawValue: String

    public init(_ text: String) throws(IdentifierError) {
        rawValue = try DigitString.validate(text, kind: .iccid, lengths: Self.lengths)
    }

    public var description: String { rawValue }

}

/// A modem's IMEI: 15 digits, the last a Luhn check digit.
public struct IMEI: StringIdentifier, CustomStringConvertible {
    public let rawValue: String

    public init(_ text: String) throws(IdentifierError) {
        rawValue = try DigitString.validate(text, kind: .imei, lengths: 15...15)
    }

    public var description: String { rawValue }

}

/// Shared rule for the 15-character sticker fields: ASCII letters and digits, normalised to
/// uppercase (a keyboard-wedge scanner types lowercase when Caps Lock is on).
enum StickerField {
    static let length = 15

    static func validate(_ text: String, kind: IdentifierError.Kind) throws(IdentifierError) -> String {
        guard !text.isEmpty else { throw .empty(kind) }
        for (index, character) in text.enumerated() {
            guard let ascii = character.asciiValue,
                (0x30...0x39).contains(ascii) || (0x41...0x5A).contains(ascii) || (0x61...0x7A).contains(ascii)
            else { throw .invalidCharacter(kind, character: character, position: index + 1) }
        }
        guard text.count == length else { throw .wrongLength(kind, found: text.count, expected: length...length) }
        return text.uppercased()
    }
}

/// The 15-character serial number printed on the device's sticker (e.g. `E40KAB111111111`).
/// Its leading characters identify the SKU.
///
/// Spec: `HAL_DEVICE_SERIAL_NUMBER_SIZE` = 15.
public struct SerialNumber: StringIdentifier, CustomStringConvertible {
    public let rawValue: String

    public init(_ text: String) throws(IdentifierError) {
        rawValue = try StickerField.validate(text, kind: .serialNumber)
    }

    public var description: String { rawValue }

}

/// The 15-character mobile secret that follows the serial number on Gen 3 stickers.
/// It is not needed for activation; the station records that it was present, not its value.
public struct MobileSecret: StringIdentifier {
    public let rawValue: String

    public init(_ text: String) throws(IdentifierError) {
        rawValue = try StickerField.validate(text, kind: .mobileSecret)
    }

}

extension MobileSecret: CustomStringConvertible {
    /// Masked: the secret never appears in logs or messages.
    public var description: String { "<mobile secret>" }
}
