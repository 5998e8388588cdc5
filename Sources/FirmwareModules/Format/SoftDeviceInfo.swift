/// The SoftDevice's own info record, which is how Device OS learns the radio stack's
/// version: its module prefix is dropped (DROP_MODULE_INFO) and never reaches flash.
///
/// Layout (observed in every S140 fixture, Nordic `nrf_sdm.h` SD_INFO_STRUCT): at flash
/// 0x3000 a u32 whose low byte is the record size, 0x3004 the magic 0x51B1E5DB, 0x3008 the
/// SoftDevice size, 0x300C the firmware ID (u16) which Particle uses as the module version.
public enum SoftDeviceInfo {
    public static let address: UInt32 = 0x3000
    public static let magic: UInt32 = 0x51B1_E5DB

    /// The record's bytes, for a payload made by the project's writer.
    public static func record(firmwareID: UInt16, softDeviceSize: UInt32) -> [UInt8] {
        var bytes: [UInt8] = [0x2C, 0xFF, 0xFF, 0xFF]
        for value in [magic, softDeviceSize] {
            bytes += [UInt8(value & 0xFF), UInt8((value >> 8) & 0xFF), UInt8((value >> 16) & 0xFF), UInt8(value >> 24)]
        }
        bytes += [UInt8(firmwareID & 0xFF), UInt8(firmwareID >> 8), 0xFF, 0xFF]
        return bytes
    }

    /// The firmware ID in a flash image starting at 0x1000-based `region` read from `base`,
    /// or nil when no SoftDevice record is there.
    public static func firmwareID(in flash: [UInt8], base: UInt32) -> UInt16? {
        let offset = Int(address) - Int(base)
        guard offset >= 0, offset + 16 <= flash.count else { return nil }
        let found = UInt32(flash[offset + 4]) | UInt32(flash[offset + 5]) << 8 | UInt32(flash[offset + 6]) << 16 | UInt32(flash[offset + 7]) << 24
        guard found == magic else { return nil }
        return UInt16(flash[offset + 12]) | UInt16(flash[offset + 13]) << 8
    }
}
