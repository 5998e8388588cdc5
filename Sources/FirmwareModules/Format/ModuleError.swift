/// Why a module file cannot be read or written. Every case names the file offset (from the
/// start of the file) where the problem is, and what was expected there.
public enum ModuleError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file has no bytes.
    case empty
    /// The file is shorter than the smallest module (prefix + base suffix + CRC).
    case truncated(size: Int, minimum: Int)
    /// A TLV extension declares a length below its 4-byte header.
    case invalidExtensionLength(offset: Int, length: Int)
    /// Prefix extensions (flag 0x10) must end with an END extension.
    case prefixExtensionsWithoutEnd(offset: Int)
    /// The compressed-module header is missing or malformed.
    case invalidCompressedHeader(offset: Int, reason: String)
    /// The raw deflate stream does not inflate, or inflates to the wrong size.
    case decompressionFailed(offset: Int, reason: String)
    /// Compression failed or was refused (combined input, prefix not at offset 0, ...).
    case compressionRefused(reason: String)
    /// A combined file's part does not fit, or data follows the last part.
    case invalidCombinedPart(offset: Int, reason: String)
    /// The module writer was given values that cannot form a module.
    case unwritable(reason: String)

    /// A stable code for logs, the store and the UI.
    public var code: String {
        switch self {
        case .empty: "MODULE-EMPTY"
        case .truncated: "MODULE-TRUNCATED"
        case .invalidExtensionLength: "MODULE-EXTENSION-LENGTH"
        case .prefixExtensionsWithoutEnd: "MODULE-PREFIX-EXTENSIONS-END"
        case .invalidCompressedHeader: "MODULE-COMPRESSED-HEADER"
        case .decompressionFailed: "MODULE-INFLATE"
        case .compressionRefused: "MODULE-DEFLATE"
        case .invalidCombinedPart: "MODULE-COMBINED-PART"
        case .unwritable: "MODULE-UNWRITABLE"
        }
    }

    public var description: String {
        switch self {
        case .empty:
            return "file is empty: it is not a firmware module. Check that the download or copy completed."
        case .truncated(let size, let minimum):
            return "file is \(size) bytes; a firmware module has at least \(minimum) (prefix, suffix and CRC). It is cut short or not a module."
        case .invalidExtensionLength(let offset, let length):
            return "Invalid extension length \(length) at offset \(offset) (expected at least 4): the suffix or prefix extensions are corrupt, or this is not a Particle module."
        case .prefixExtensionsWithoutEnd(let offset):
            return "Prefix extensions should end with END extension; none found by offset \(offset). The module header is corrupt."
        case .invalidCompressedHeader(let offset, let reason):
            return "compressed-module header at offset \(offset) is invalid: \(reason)."
        case .decompressionFailed(let offset, let reason):
            return "compressed payload at offset \(offset) does not decompress: \(reason). The file is corrupt; get it again."
        case .compressionRefused(let reason):
            return "cannot compress this module: \(reason)."
        case .invalidCombinedPart(let offset, let reason):
            return "combined module part at offset \(offset) is invalid: \(reason)."
        case .unwritable(let reason):
            return "cannot write this module: \(reason)."
        }
    }
}
