import Foundation
import ParticleDevices
import TextFormats

/// A tray or reel list, as Particle emails them or a technician types them: one device per
/// line, tokens separated by commas, tabs or spaces, each recognised as a device ID (24 hex),
/// an ICCID (18-22 digits, Luhn) or a serial number (15 letters and digits). Blank lines and
/// `#` comments are skipped; lines end in LF, CR LF or CR (`TextLines`); a header line of words is an error like any other line the
/// station cannot read, so nothing is silently lost.
public enum TrayFile {
    public struct Entry: Hashable, Sendable {
        public var line: Int
        public var deviceID: DeviceID
        public var iccid: ICCID?
        public var serial: SerialNumber?
    }

    public struct LineError: Error, Hashable, Sendable, CustomStringConvertible {
        public var line: Int
        public var text: String
        public var reason: String
        public var description: String { "line \(line): \(reason) (\(text))" }
    }

    public static func parse(_ text: String) -> (entries: [Entry], errors: [LineError]) {
        var entries: [Entry] = []
        var errors: [LineError] = []
        var seen: [String: Int] = [:]
        for (index, raw) in TextLines.split(text).enumerated() {
            let number = index + 1
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let tokens = line.split(whereSeparator: { $0 == "," || $0 == "\t" || $0 == " " || $0 == ";" }).map(String.init)
            var deviceID: DeviceID?
            var iccid: ICCID?
            var serial: SerialNumber?
            var problem: String?
            for token in tokens {
                if token.count == 24, let id = try? DeviceID(token) {
                    if deviceID != nil { problem = "two device IDs on one line" } else { deviceID = id }
                } else if token.allSatisfy(\.isNumber) {
                    do {
                        let value = try ICCID(token)
                        if iccid != nil { problem = "two ICCIDs on one line" } else { iccid = value }
                    } catch {
                        problem = "'\(token)' is not an ICCID: \(error.description)"
                    }
                } else if token.count == 15, let value = try? SerialNumber(token) {
                    if serial != nil { problem = "two serial numbers on one line" } else { serial = value }
                } else {
                    problem = "'\(token)' is neither a device ID (24 hex characters), an ICCID (18 to 22 digits) nor a serial number (15 letters and digits)"
                }
                if problem != nil { break }
            }
            if problem == nil && deviceID == nil { problem = "no device ID; each line needs one (its ICCID and serial number are optional)" }
            if let id = deviceID, problem == nil, let first = seen[id.rawValue] { problem = "device \(id) is already on line \(first)" }
            if let problem {
                errors.append(LineError(line: number, text: line, reason: problem))
            } else if let deviceID {
                seen[deviceID.rawValue] = number
                entries.append(Entry(line: number, deviceID: deviceID, iccid: iccid, serial: serial))
            }
        }
        return (entries, errors)
    }
}
