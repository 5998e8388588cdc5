import StationConfig
import TextFormats

/// Tray and reel files, through the shared line reader (line ends, BOM, invalid UTF-8).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTray(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    guard let text = try? TextLines.decode(bytes) else { return 0 }
    let lines = TextLines.split(text)
    let (entries, errors) = TrayFile.parse(text)
    guard entries.count + errors.count <= lines.count else { fatalError("more results than lines") }
    var assembler = LineAssembler(maximumLength: 64)
    for line in assembler.feed(bytes) where line.text.utf8.count > 64 * 3 { fatalError("a line past its bound: \(line.text.utf8.count)") }
    return 0
}
