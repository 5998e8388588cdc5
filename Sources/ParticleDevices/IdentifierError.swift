/// Why a scanned or reported identifier was refused. Each case names the identifier and
/// the exact problem, so the technician knows whether to rescan or set the part aside.
public enum IdentifierError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        case deviceID = "device ID"
        case iccid = "ICCID"
        case imei = "IMEI"
        case serialNumber = "serial number"
        case mobileSecret = "mobile secret"
        case sticker = "sticker code"
    }

    case empty(Kind)
    /// The value has the wrong number of characters (digits for ICCID and IMEI).
    case wrongLength(Kind, found: Int, expected: ClosedRange<Int>)
    /// A character that the identifier may not contain, at a 1-based position.
    case invalidCharacter(Kind, character: Character, position: Int)
    /// The Luhn check digit does not match the rest of the number.
    case checkDigit(Kind, found: Int, expected: Int)
    /// The sticker text has the wrong shape (too many fields, etc.).
    case stickerFormat(String)

    /// A stable code for logs, the store and the UI.
    public var code: String {
        switch self {
        case .empty: "ID-EMPTY"
        case .wrongLength: "ID-LENGTH"
        case .invalidCharacter: "ID-CHARACTER"
        case .checkDigit: "ID-CHECK-DIGIT"
        case .stickerFormat: "ID-STICKER-FORMAT"
        }
    }

    public var kind: Kind {
        switch self {
        case .empty(let kind), .wrongLength(let kind, _, _), .invalidCharacter(let kind, _, _),
            .checkDigit(let kind, _, _):
            kind
        case .stickerFormat: .sticker
        }
    }

    public var description: String {
        switch self {
        case .empty(let kind):
            return "The \(kind.rawValue) is empty. Scan or enter it again."
        case .wrongLength(let kind, let found, let expected):
            let unit = (kind == .iccid || kind == .imei) ? "digits" : "characters"
            let wanted = expected.lowerBound == expected.upperBound
                ? "\(expected.lowerBound)" : "\(expected.lowerBound) to \(expected.upperBound)"
            return "The \(kind.rawValue) has \(found) \(unit); it must have \(wanted). Rescan it; if it still fails, check the label."
        case .invalidCharacter(let kind, let character, let position):
            let shown = character.unicodeScalars.allSatisfy { $0.properties.isWhitespace || $0.value < 0x20 }
                ? "U+" + character.unicodeScalars.map { String($0.value, radix: 16, uppercase: true) }.joined()
                : "'\(character)'"
            return "The \(kind.rawValue) contains \(shown) at position \(position), which it may not contain. Rescan it; if it still fails, check the scanner's settings."
        case .checkDigit(let kind, let found, let expected):
            return "The \(kind.rawValue)'s check digit is \(found) but the other digits require \(expected): the number was misread or mistyped. Rescan it."
        case .stickerFormat(let reason):
            return "The sticker code is not a Particle serial-number sticker: \(reason). Rescan the serial-number sticker."
        }
    }
}
