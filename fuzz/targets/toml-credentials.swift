import StationConfig

/// Credentials and token files (owner-only), as the import queue reads them.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCredentials(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: Fuzz.bytes(data, size), as: UTF8.self)
    _ = try? Credentials.parse(text, file: "credentials.toml", mode: 0o600)
    _ = try? Credentials.parseTokenFile(text, file: "token", mode: 0o600)
    return 0
}
