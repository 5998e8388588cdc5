/// How a device is paired with the sticker the technician scans, in one enum for the line's
/// choice (`[bench] pairing`), the pipeline and the sticker itself (which carries a serial
/// number or an IMEI, never `none`).
public enum PairingKey: String, Hashable, Sendable, Codable, CaseIterable {
    /// The serial number on the sticker equals the one the device reports (request 21 / `i`).
    case serialNumber = "serial"
    /// Older Electron and E-Series stickers carry the IMEI.
    case imei
    /// No pairing: nothing is scanned.
    case none
}

/// Where a device is left when the station is done with it, in one enum for the config
/// (`[bench] final_state`), the guard and the pipeline.
public enum FinalState: String, Hashable, Sendable, Codable, CaseIterable {
    /// Listening mode: no cloud until it is reset (a power cycle at the customer).
    case listening
    /// DFU mode: no firmware runs.
    case dfu
}
