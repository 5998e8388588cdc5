import TextFormats

/// Any TOML document (lab specs are read through this reader too), then every value
/// written back as TOML text and read again: the writer's output must parse.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTOML(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let text = String(validating: Fuzz.bytes(data, size), as: UTF8.self), let table = try? TOMLReader.parse(text) else { return 0 }
    for key in table.keys {
        if let string = table[key]?.string {
            guard (try? TOMLReader.parse("k = \(TOMLWriter.quoted(string))"))?["k"]?.string == string else {
                fatalError("TOMLWriter.quoted does not read back: \(string.debugDescription)")
            }
        }
    }
    return 0
}
