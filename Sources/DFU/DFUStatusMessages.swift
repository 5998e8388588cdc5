/// The one table from DFU status to a technician's message, with the DfuSe readings that
/// override the DFU 1.1 meaning (as fwupd does in `fu_dfu_target_check_status`).
public enum DFUStatusMessages {
    struct Entry {
        let name: String
        let message: String
    }

    static let table: [UInt8: Entry] = [
        0x00: Entry(name: "OK", message: "no error"),
        0x01: Entry(name: "errTARGET", message: "the file is not meant for this device"),
        0x02: Entry(name: "errFILE", message: "the file failed the device's checks"),
        0x03: Entry(name: "errWRITE", message: "the device could not write its memory"),
        0x04: Entry(name: "errERASE", message: "the device could not erase its memory"),
        0x05: Entry(name: "errCHECK_ERASED", message: "the memory did not read back as erased"),
        0x06: Entry(name: "errPROG", message: "programming the memory failed"),
        0x07: Entry(name: "errVERIFY", message: "the programmed memory did not verify"),
        0x08: Entry(name: "errADDRESS", message: "the address is outside the device's memory"),
        0x09: Entry(name: "errNOTDONE", message: "the device expected more data"),
        0x0A: Entry(name: "errFIRMWARE", message: "the device's firmware is corrupt; it cannot leave DFU mode"),
        0x0B: Entry(name: "errVENDOR", message: "vendor-specific error"),
        0x0C: Entry(name: "errUSBR", message: "an unexpected USB reset"),
        0x0D: Entry(name: "errPOR", message: "an unexpected power-on reset"),
        0x0E: Entry(name: "errUNKNOWN", message: "unknown error"),
        0x0F: Entry(name: "errSTALLEDPKT", message: "the device refused an unexpected request"),
    ]

    /// DfuSe devices give some codes a narrower meaning.
    static let dfuSeOverrides: [UInt8: String] = [
        0x0B: "read or write protection is active on this memory (the device may be protected)",
        0x01: "the address or command is not supported by this memory",
        0x0F: "the bootloader does not support this command",
    ]

    public static func name(of status: DFUStatusCode) -> String {
        table[status.rawValue]?.name ?? "status 0x\(String(status.rawValue, radix: 16))"
    }

    /// What a status means, in words for a technician.
    public static func message(for status: DFUStatusCode, dfuSe: Bool = true) -> String {
        if dfuSe, let override = dfuSeOverrides[status.rawValue] { return override }
        return table[status.rawValue]?.message ?? "an undocumented status 0x\(String(status.rawValue, radix: 16))"
    }
}
