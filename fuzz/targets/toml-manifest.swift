import StationConfig

/// Firmware manifests; a manifest that parses is written back and must parse the same.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: Fuzz.bytes(data, size), as: UTF8.self)
    guard let manifest = try? FirmwareManifestFile.parse(text, file: "manifest.toml") else { return 0 }
    guard let again = try? FirmwareManifestFile.parse(manifest.toml, file: "manifest.toml"), again.toml == manifest.toml else {
        fatalError("a manifest written back does not read back the same")
    }
    return 0
}
