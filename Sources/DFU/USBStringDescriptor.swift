/// USB string descriptors (USB 2.0 section 9.6.7): `bLength, bDescriptorType (3), UTF-16LE`.
public enum USBStringDescriptor {
    /// The descriptor bytes for a string.
    public static func encode(_ text: String) -> [UInt8] {
        let units = Array(text.utf16)
        return [UInt8(min(255, 2 + units.count * 2)), 0x03] + units.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
    }

    /// The string in a descriptor as read from a device; nil when it is not one.
    public static func decode(_ raw: [UInt8]) -> String? {
        guard raw.count >= 2, raw[1] == 0x03 else { return nil }
        let end = min(raw.count, Int(raw[0]))
        let units = stride(from: 2, to: end - 1, by: 2).map { UInt16(raw[$0]) | UInt16(raw[$0 + 1]) << 8 }
        return String(decoding: units, as: UTF16.self)
    }
}
