import Testing
@testable import Station

/// Strings a device reports reached the screen (terminal escapes) and the cloud unchecked
/// (issue 14). Each is checked where the identity is put together; a wrong shape is left out
/// and noted escaped.
@Suite struct HostileIdentityTests {
    static func keyPath(_ field: String) -> WritableKeyPath<DeviceIdentity, String?> {
        switch field {
        case "serialNumber": \.serialNumber
        case "iccid": \.iccid
        case "imei": \.imei
        case "deviceID": \.deviceID
        default: \.deviceOSVersion
        }
    }

    @Test(arguments: [
        ("serialNumber", "P0\u{1B}[2JAAAAAAAAAA"), ("serialNumber", String(repeating: "A", count: 100_000)), ("serialNumber", "P0 AAAA"),
        ("iccid", "8901410321111851072\u{7}"), ("iccid", "89014103211118510720; rm -rf"), ("imei", "35275309012345\u{0}"), ("imei", "12"),
        ("deviceID", "e00fce68ae40e8a1f5b4\u{1B}]0;"), ("deviceOSVersion", "6.2.0\u{1B}[31m"),
    ])
    func aValueOfTheWrongShapeIsLeftOutAndNotedEscaped(field: String, value: String) {
        var identity = DeviceIdentity(port: "1-1", mode: .normal)
        let keyPath = Self.keyPath(field)
        identity.set(keyPath, field, value, from: .controlRequest)
        #expect(identity[keyPath: keyPath] == nil)
        let note = identity.notes.first ?? ""
        #expect(note.contains("left out") && !note.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F } && note.count < 200, "\(note)")
    }

    @Test(arguments: [("serialNumber", "P0AAAAAAAAAAAAA"), ("iccid", "89014103211118510720"), ("iccid", "8944501234567890123F"), ("imei", "352753090123454"),
                      ("deviceID", "e00fce68ae40e8a1f5b40001"), ("deviceOSVersion", "6.2.0-rc.1")])
    func realShapesAreKept(field: String, value: String) {
        var identity = DeviceIdentity(port: "1-1", mode: .normal)
        let keyPath = Self.keyPath(field)
        identity.set(keyPath, field, value, from: .console)
        #expect(identity[keyPath: keyPath] == value && identity.notes.isEmpty)
    }
}
