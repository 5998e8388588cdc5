import FirmwareModules
import Zlib

/// Module files: parse, split combined files, decompress compressed parts, inspect (what
/// `station inspect` does to a file).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzModule(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Fuzz.bytes(data, size)
    let codec = ZlibDeflateCodec()
    _ = try? ModuleInspection.inspect(file: "fuzz.bin", bytes: bytes, codec: codec)
    if let parts = try? CombinedModule.split(bytes) {
        for part in parts {
            _ = try? part.standalone()
            if part.module.header.flags.contains(.compressed) { _ = try? ModuleCompression.decompress(part.module, codec: codec) }
        }
    }
    if let module = try? FirmwareModule(bytes: bytes) {
        _ = module.flashImage
        if module.header.flags.contains(.compressed) { _ = try? ModuleCompression.decompress(module, codec: codec) }
    }
    return 0
}
