/// A TLV extension in the prefix (flag 0x10) or the suffix: `u16 type, u16 length, body`,
/// where length includes the 4-byte header.
///
/// Spec: `module_info_extension_t` in Device OS `dynalib/inc/module_info.h`; the asset-type
/// extension is binary-version-reader's only.
public enum ModuleExtension: Hashable, Sendable {
    /// END (0x0000): closes a list; may carry padding.
    case end(padding: Int)
    /// PRODUCT_DATA (0x0001): u32 id (`[FF FF][product id]` in practice), u16 version.
    case productData(id: UInt32, version: UInt16)
    /// DYNAMIC_LOCATION (0x0002).
    case dynamicLocation(moduleStart: UInt32, dynalibLoad: UInt32, dynalibStart: UInt32)
    /// DEPENDENCY (0x0003).
    case dependency(function: ModuleFunction, index: UInt8, version: UInt16, targetID: UInt32)
    /// HASH (0x0010): type 0 is SHA-256.
    case hash(type: UInt8, hash: [UInt8])
    /// NAME (0x0011): UTF-8, not NUL-terminated.
    case name(String)
    /// ASSET_DEPENDENCY (0x0012): the raw asset's hash and name.
    case assetDependency(hashType: UInt8, hash: [UInt8], name: String)
    /// SECURITY_MODE (0x0013): 0 none, 1 protected; optional DER certificate.
    case securityMode(mode: UInt8, certificate: [UInt8])
    /// ASSET_TYPE (0x0014).
    case assetType(UInt8)
    /// A type this parser does not know; the body is kept.
    case unknown(type: UInt16, body: [UInt8])

    public static let endType: UInt16 = 0x0000
    public static let invalidType: UInt16 = 0xFFFF
    static let headerSize = 4

    public var type: UInt16 {
        switch self {
        case .end: 0x0000
        case .productData: 0x0001
        case .dynamicLocation: 0x0002
        case .dependency: 0x0003
        case .hash: 0x0010
        case .name: 0x0011
        case .assetDependency: 0x0012
        case .securityMode: 0x0013
        case .assetType: 0x0014
        case .unknown(let type, _): type
        }
    }

    public var typeName: String {
        switch self {
        case .end: "END"
        case .productData: "PRODUCT_DATA"
        case .dynamicLocation: "DYNAMIC_LOCATION"
        case .dependency: "DEPENDENCY"
        case .hash: "HASH"
        case .name: "NAME"
        case .assetDependency: "ASSET_DEPENDENCY"
        case .securityMode: "SECURITY_MODE"
        case .assetType: "ASSET_TYPE"
        case .unknown(let type, _): "UNKNOWN(0x\(String(type, radix: 16)))"
        }
    }

    /// The body bytes (after the 4-byte header).
    var body: [UInt8] {
        var out: [UInt8] = []
        switch self {
        case .end(let padding):
            out = [UInt8](repeating: 0, count: padding)
        case .productData(let id, let version):
            out.appendLE(id)
            out.appendLE(version)
        case .dynamicLocation(let a, let b, let c):
            out.appendLE(a)
            out.appendLE(b)
            out.appendLE(c)
        case .dependency(let function, let index, let version, let target):
            out = [function.rawValue, index]
            out.appendLE(version)
            out.appendLE(target)
        case .hash(let type, let hash):
            out = [type, UInt8(truncatingIfNeeded: hash.count)] + hash
        case .name(let name):
            out = Array(name.utf8)
        case .assetDependency(let hashType, let hash, let name):
            out = [hashType, UInt8(truncatingIfNeeded: hash.count)] + hash + Array(name.utf8)
        case .securityMode(let mode, let certificate):
            out = [mode] + certificate
        case .assetType(let type):
            out = [type, 0]
        case .unknown(_, let body):
            out = body
        }
        return out
    }

    /// Header and body.
    public var encoded: [UInt8] {
        let body = self.body
        var out: [UInt8] = []
        out.appendLE(type)
        out.appendLE(UInt16(truncatingIfNeeded: body.count + Self.headerSize))
        return out + body
    }

    /// Decodes one extension body. Bodies shorter than their type needs become `.unknown`
    /// so that inspection still shows them.
    static func decode(type: UInt16, body: ArraySlice<UInt8>) -> ModuleExtension {
        let b = Array(body)
        switch type {
        case 0x0000:
            return .end(padding: b.count)
        case 0x0001 where b.count >= 6:
            return .productData(id: b.u32le(at: 0), version: b.u16le(at: 4))
        case 0x0002 where b.count >= 12:
            return .dynamicLocation(moduleStart: b.u32le(at: 0), dynalibLoad: b.u32le(at: 4), dynalibStart: b.u32le(at: 8))
        case 0x0003 where b.count >= 8:
            return .dependency(function: ModuleFunction(rawValue: b[0]), index: b[1], version: b.u16le(at: 2), targetID: b.u32le(at: 4))
        case 0x0010 where b.count >= 2:
            return .hash(type: b[0], hash: Array(b[2...]))
        case 0x0011:
            return .name(String(decoding: b, as: UTF8.self))
        case 0x0012 where b.count >= 2 && b.count >= 2 + Int(b[1]):
            let length = Int(b[1])
            return .assetDependency(hashType: b[0], hash: Array(b[2..<(2 + length)]), name: String(decoding: b[(2 + length)...], as: UTF8.self))
        case 0x0013 where b.count >= 1:
            return .securityMode(mode: b[0], certificate: Array(b[1...]))
        case 0x0014 where b.count >= 1:
            return .assetType(b[0])
        default:
            return .unknown(type: type, body: b)
        }
    }
}

/// An extension and where it starts in the file.
public struct LocatedExtension: Hashable, Sendable {
    public let offset: Int
    public let length: Int
    public let value: ModuleExtension
}
