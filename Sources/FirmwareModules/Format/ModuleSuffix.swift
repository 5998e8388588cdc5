/// The suffix, `module_info_suffix_t`, read backwards from the CRC:
/// `[extensions][product id u16][product version u16][reserved u16][SHA-256][suffix size u16]`.
/// Product fields exist only when the suffix size is at least 40.
///
/// Spec: Device OS `dynalib/inc/module_info.h`; binary-version-reader `_readSuffix`.
public struct ModuleSuffix: Hashable, Sendable {
    /// The base suffix: reserved, SHA-256, size.
    public static let baseSize = 36
    /// With the legacy product ID and version.
    public static let productSize = 40

    /// Bytes from the start of the suffix up to (not including) the CRC.
    public let size: Int
    /// Nil when `size < 40` (binary-version-reader reports -1).
    public let productID: UInt16?
    public let productVersion: UInt16?
    public let reserved: UInt16
    /// The stored SHA-256 field.
    public let sha256: [UInt8]
    public let extensions: [LocatedExtension]
}
