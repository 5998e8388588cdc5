/// What the sticker on a device says, as read by a barcode scanner.
///
/// Particle's serial-number sticker is a Data Matrix holding `SERIAL MOBILESECRET`
/// (serial only on Gen 2); older Electron/E-Series "u-blox" stickers carry the IMEI instead.
public enum StickerCode: Hashable, Sendable, CustomStringConvertible {
    case serial(SerialNumber, mobileSecret: MobileSecret?)
    case imei(IMEI)

    /// Which identifier a line pairs devices by (the one pairing enum).
    public typealias Key = PairingKey

    /// The serial number, when the sticker carries one.
    public var serialNumber: SerialNumber? {
        if case .serial(let serial, _) = self { return serial }
        return nil
    }

    /// The mobile secret, when the sticker carries one (Gen 3).
    public var mobileSecret: MobileSecret? {
        if case .serial(_, let secret) = self { return secret }
        return nil
    }

    /// Which identifier the sticker carries.
    public var key: Key {
        switch self {
        case .serial: .serialNumber
        case .imei: .imei
        }
    }

    /// The value a device must report to pair with this sticker: its serial number or IMEI,
    /// normalised. Never the mobile secret.
    public var pairingValue: String {
        switch self {
        case .serial(let serial, _): serial.rawValue
        case .imei(let imei): imei.rawValue
        }
    }

    /// Parses a scan whose kind is not known in advance (a bench with Gen 3 devices, Gen 2
    /// devices and u-blox Electrons at once): digits only are an IMEI; otherwise the
    /// `preferred` key first, then the other one. When neither fits, the error is the
    /// preferred key's.
    public static func parseAny(
        _ text: String, preferred: Key = .serialNumber, prefix: String = "", suffix: String = ""
    ) throws(IdentifierError) -> StickerCode {
        // A single all-digit field is an IMEI (serial numbers start with their SKU's
        // letters): a wrong check digit there is a misread IMEI, not a serial number.
        let cleaned = strip(text, prefix: prefix, suffix: suffix)
        if !cleaned.isEmpty, cleaned.allSatisfy({ $0.isASCII && $0.isNumber }) {
            return try parse(cleaned, key: .imei)
        }
        do {
            return try parse(text, key: preferred, prefix: prefix, suffix: suffix)
        } catch {
            let other: Key = preferred == .imei ? .serialNumber : .imei
            if let code = try? parse(text, key: other, prefix: prefix, suffix: suffix) { return code }
            throw error
        }
    }

    /// Parses scanner output: tolerant of the noise scanners add around the code, strict
    /// about the code itself.
    ///
    /// Removed before parsing: leading and trailing whitespace and control characters
    /// (CR, LF, tab, STX/ETX, ...), an AIM symbology identifier (`]d2`, `]Q1`, `]C0`, ...),
    /// and the configured `prefix`/`suffix` a scanner is set to add.
    /// - Throws: `IdentifierError` naming the field and the problem.
    public static func parse(
        _ text: String, key: Key = .serialNumber, prefix: String = "", suffix: String = ""
    ) throws(IdentifierError) -> StickerCode {
        let cleaned = strip(text, prefix: prefix, suffix: suffix)
        guard !cleaned.isEmpty else { throw .empty(.sticker) }
        let fields = cleaned.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        switch key {
        case .imei:
            guard fields.count == 1 else {
                throw .stickerFormat("it has \(fields.count) fields; an IMEI sticker has one 15-digit number")
            }
            return .imei(try IMEI(fields[0]))
        case .serialNumber, .none:
            switch fields.count {
            case 1:
                return .serial(try SerialNumber(fields[0]), mobileSecret: nil)
            case 2:
                return .serial(try SerialNumber(fields[0]), mobileSecret: try MobileSecret(fields[1]))
            default:
                throw .stickerFormat(
                    "it has \(fields.count) fields separated by spaces; a serial-number sticker has the serial number and, on Gen 3, the mobile secret")
            }
        }
    }

    static func strip(_ text: String, prefix: String, suffix: String) -> String {
        var view = Substring(text)
        let isNoise: (Character) -> Bool = { character in
            character.unicodeScalars.allSatisfy {
                $0.properties.isWhitespace || $0.properties.generalCategory == .control
            }
        }
        view = view.drop(while: isNoise)
        while let last = view.last, isNoise(last) { view = view.dropLast() }
        // AIM symbology identifier: ']' + code character + modifier digit; some scanners
        // send their configured prefix first, then the identifier.
        func dropAIM(_ text: Substring) -> Substring {
            let chars = Array(text.prefix(3))
            return chars.count == 3 && chars[0] == "]" && chars[1].isLetter && chars[2].isNumber ? text.dropFirst(3) : text
        }
        view = dropAIM(view)
        if !prefix.isEmpty, view.hasPrefix(prefix) { view = view.dropFirst(prefix.count) }
        if !suffix.isEmpty, view.hasSuffix(suffix) { view = view.dropLast(suffix.count) }
        view = dropAIM(view)
        view = view.drop(while: isNoise)
        while let last = view.last, isNoise(last) { view = view.dropLast() }
        return String(view)
    }

    /// What a log or a screen may show: the pairing value, and that a mobile secret was
    /// there, never the secret itself.
    public var description: String {
        switch self {
        case .serial(let serial, let secret): serial.rawValue + (secret == nil ? "" : " (mobile secret withheld)")
        case .imei(let imei): "IMEI " + imei.rawValue
        }
    }
}
