import StationConfig

/// Station configs: the cloud part and the bench part, as `station run` reads them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStationConfig(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: Fuzz.bytes(data, size), as: UTF8.self)
    guard let station = try? StationConfig.parse(text, file: "station.toml", extraSections: BenchConfig.sections) else { return 0 }
    _ = try? BenchConfig.parse(text, file: "station.toml", station: station)
    return 0
}
