import FirmwareModules
import ParticleDevices

/// What the station knows about one attached device, with the channel each value came from.
/// A value that could not be read is nil (JSON null), never an empty string or a guess.
public struct DeviceIdentity: Hashable, Sendable, Encodable {
    /// Where a value came from.
    public enum Source: String, Hashable, Sendable, Encodable {
        case usbDescriptor = "usb-descriptor"
        case controlRequest = "control-request"
        case console
        case dfu
    }

    public enum Mode: String, Hashable, Sendable, Encodable {
        case normal, listening, dfu
    }

    /// A module as the device reports it: function and index as in the module header,
    /// version, and whether the device considers it valid.
    /// A module it holds (the one installed-module value).
    public typealias Module = InstalledModule

    public var port: String
    public var deviceID: String?
    public var platform: String?
    public var platformID: Int?
    public var mode: Mode
    public var serialNumber: String?
    public var iccid: String?
    public var imei: String?
    public var deviceOSVersion: String?
    public var modules: [Module]?
    /// Its Device Protection state (JSON `protection`: `open`, `protected`, `service`, or
    /// null when the device cannot say): DFU descriptor 0xFA or the layout in DFU mode,
    /// request 76 in normal mode (Device OS 6).
    public var protection: DeviceProtection?
    /// Field name (`deviceID`, `iccid`, ...) → the channel that gave it.
    public var sources: [String: Source]
    /// What could not be read and why, what needs another mode, disagreements between channels.
    public var notes: [String]
    /// True when a read that should have worked failed (not merely unsupported).
    public var incomplete: Bool

    public init(port: String, mode: Mode) {
        self.port = port
        self.mode = mode
        sources = [:]
        notes = []
        incomplete = false
    }

    /// Sets a value and its source; a nil value leaves the field as it is.
    mutating func set(_ keyPath: WritableKeyPath<DeviceIdentity, String?>, _ field: String, _ value: String?, from source: Source) {
        guard let value, !value.isEmpty else { return }
        // What a device says is checked here, before it reaches a screen, a record or the
        // cloud: a value of the wrong shape (terminal escapes, a megabyte of text) is left
        // out, and the note shows it escaped and cut.
        guard Self.plausible(field, value) else {
            notes.append("\(field): \(source.rawValue) gave \"\(Self.escaped(String(value.prefix(40))))\"\(value.count > 40 ? "..." : ""), which is not a \(field); left out")
            return
        }
        if let existing = self[keyPath: keyPath], existing.lowercased() != value.lowercased() {
            notes.append("\(field): \(sources[field]?.rawValue ?? "?") says \(existing), \(source.rawValue) says \(value); kept the first")
            return
        }
        if self[keyPath: keyPath] == nil {
            self[keyPath: keyPath] = value
            sources[field] = source
        }
    }

    /// The shape each device-reported text must have: serial numbers are letters and
    /// digits; ICCID and IMEI digits (an ICCID may end in an F pad); versions are short and
    /// printable. Lengths are generous bounds, not the exact formats (those are checked
    /// where a sticker is paired).
    static func plausible(_ field: String, _ value: String) -> Bool {
        let scalars = value.unicodeScalars
        func all(_ allowed: (Unicode.Scalar) -> Bool) -> Bool { scalars.allSatisfy(allowed) }
        let alnum: (Unicode.Scalar) -> Bool = { ("0"..."9").contains($0) || ("A"..."Z").contains($0) || ("a"..."z").contains($0) }
        switch field {
        case "deviceID": return scalars.count == 24 && all { ("0"..."9").contains($0) || ("a"..."f").contains($0) || ("A"..."F").contains($0) }
        case "serialNumber": return (1...32).contains(scalars.count) && all(alnum)
        case "iccid": return (10...24).contains(scalars.count) && all { ("0"..."9").contains($0) || $0 == "F" || $0 == "f" }
        case "imei": return (14...17).contains(scalars.count) && all { ("0"..."9").contains($0) }
        default: return (1...64).contains(scalars.count) && all { $0.value >= 0x21 && $0.value < 0x7F }
        }
    }

    /// Printable ASCII as it is; every other scalar (controls, C1 such as U+009B, bidi
    /// overrides such as U+202E) as `\u{XX}`.
    public static func escaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            if scalar.value >= 0x20 && scalar.value < 0x7F && scalar != "\\" && scalar != "\"" { out.unicodeScalars.append(scalar) } else { out += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}" }
        }
        return out
    }

    enum Key: String, CodingKey {
        case port, deviceID, platform, platformID, mode, serialNumber, iccid, imei, deviceOSVersion, modules, protection, sources, notes
    }

    /// Every key is present; unknown values are null.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(port, forKey: .port)
        try container.encode(deviceID, forKey: .deviceID)
        try container.encode(platform, forKey: .platform)
        try container.encode(platformID, forKey: .platformID)
        try container.encode(mode, forKey: .mode)
        try container.encode(serialNumber, forKey: .serialNumber)
        try container.encode(iccid, forKey: .iccid)
        try container.encode(imei, forKey: .imei)
        try container.encode(deviceOSVersion, forKey: .deviceOSVersion)
        try container.encode(modules, forKey: .modules)
        try container.encode(protection, forKey: .protection)
        try container.encode(sources, forKey: .sources)
        try container.encode(notes, forKey: .notes)
    }
}
