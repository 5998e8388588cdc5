/// The header in front of a compressed module's raw deflate stream:
/// `u16 size (8, may be larger), u8 method (0 = raw deflate), u8 window bits (0 = 15),
/// u32 original size`.
///
/// Spec: `compressed_module_header` in Device OS `dynalib/inc/module_info.h`.
public struct CompressedHeader: Hashable, Sendable {
    public static let minimumSize = 8

    /// File offset of the header.
    public let offset: Int
    public let headerSize: Int
    public let method: UInt8
    /// As stored; 0 means the default, 15.
    public let windowBits: UInt8
    /// The size of what inflates: the whole original file, or the payload alone with
    /// DROP_MODULE_INFO.
    public let originalSize: UInt32

    public var effectiveWindowBits: Int { windowBits == 0 ? 15 : Int(windowBits) }

    init(bytes: [UInt8], at offset: Int, limit: Int) throws(ModuleError) {
        guard offset + Self.minimumSize <= limit else {
            throw .invalidCompressedHeader(offset: offset, reason: "the file ends before the 8-byte header")
        }
        headerSize = Int(bytes.u16le(at: offset))
        guard headerSize >= Self.minimumSize, offset + headerSize <= limit else {
            throw .invalidCompressedHeader(offset: offset, reason: "header size \(headerSize) (expected 8 or more, inside the file)")
        }
        self.offset = offset
        method = bytes[offset + 2]
        windowBits = bytes[offset + 3]
        originalSize = bytes.u32le(at: offset + 4)
    }

    init(offset: Int, originalSize: UInt32) {
        self.offset = offset
        headerSize = Self.minimumSize
        method = 0
        windowBits = 0
        self.originalSize = originalSize
    }

    var encoded: [UInt8] {
        var out: [UInt8] = []
        out.appendLE(UInt16(headerSize))
        out.append(method)
        out.append(windowBits)
        out.appendLE(originalSize)
        return out
    }
}
