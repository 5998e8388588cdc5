import ListeningConsole

/// Listening-mode console transcripts: what `i`, `v`, `s` and `m` answer.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConsole(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: Fuzz.bytes(data, size), as: UTF8.self)
    _ = ListeningConsole.parseIdentity(text)
    _ = ListeningConsole.parseVersion(text)
    _ = ListeningConsole.parseSystemInfo(text)
    _ = ListeningConsole.parseMACAddress(text)
    return 0
}
