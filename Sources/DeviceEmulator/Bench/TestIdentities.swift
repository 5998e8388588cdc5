import ParticleDevices

/// Random, valid identities for emulated devices (Luhn-correct ICCIDs and IMEIs), so that a
/// station and an emulator can never agree on a value by accident.
public enum TestIdentities {
    public static func profile<G: RandomNumberGenerator>(using generator: inout G) -> DeviceProfile {
        func digits(_ count: Int) -> String { String((0..<count).map { _ in Character(String(Int.random(in: 0...9, using: &generator))) }) }
        func hex(_ count: Int) -> String { String((0..<count).map { _ in "0123456789abcdef".randomElement(using: &generator)! }) }
        func alphanumeric(_ count: Int) -> String { String((0..<count).map { _ in "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789".randomElement(using: &generator)! }) }
        // Fixed prefixes keep the values recognisable: e00f.. IDs, 8901 (US telecom) ICCIDs,
        // 35 (GSMA-reporting body) IMEIs.
        return DeviceProfile(
            deviceID: try! DeviceID("e00f" + hex(20)),
            serial: try! SerialNumber("P0" + alphanumeric(13)),
            iccid: try! ICCID(Luhn.completing("8901" + digits(15))),
            imei: try! IMEI(Luhn.completing("35" + digits(12))))
    }

    public static func profile() -> DeviceProfile {
        var generator = SystemRandomNumberGenerator()
        return profile(using: &generator)
    }
}
