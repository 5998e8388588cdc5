import ParticleDevices

/// Sticker scans as a barcode scanner delivers them (AIM prefixes, configured prefix and
/// suffix, Gen 3 serial + mobile secret, Gen 2 serial, Electron IMEI).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSticker(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: Fuzz.bytes(data, size), as: UTF8.self)
    _ = try? StickerCode.parseAny(text)
    _ = try? StickerCode.parseAny(text, preferred: .imei)
    _ = try? StickerCode.parseAny(text, prefix: "]d2", suffix: "\r")
    for key in StickerCode.Key.allCases { _ = try? StickerCode.parse(text, key: key) }
    _ = try? SerialNumber(text)
    _ = try? ICCID(text)
    _ = try? DeviceID(text)
    return 0
}
