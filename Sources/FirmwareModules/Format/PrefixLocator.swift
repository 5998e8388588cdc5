import Foundation

/// Finds where `module_info_t` sits in a file, exactly as binary-version-reader does
/// (`_findModulePrefixOffset`, `_validateModulePrefix`): preferred offsets first, then every
/// 4 bytes up to 8 KB, scoring each candidate; the first offset with the best score wins.
public struct PrefixLocator: Sendable {
    /// 0, Gen 3 (0x200), Gen 2 (0x184), Bluz (0xC0), Core (0x10C).
    public static let preferredOffsets = [0, 0x200, 0x184, 0xC0, 0x10C]
    /// A candidate passes only with every point.
    public static let passingScore = 7

    /// Platform IDs that earn the "known platform" point.
    public let knownPlatforms: Set<UInt16>

    public init(knownPlatforms: Set<UInt16>) { self.knownPlatforms = knownPlatforms }

    /// The table in `Resources/known-platforms.json`.
    public static let standard: PrefixLocator = {
        struct File: Decodable { let note: String; let known: [UInt16] }
        do {
            let file = try JSONDecoder().decode(File.self, from: Data(PackageResources.known_platforms_json))
            return PrefixLocator(knownPlatforms: Set(file.known))
        } catch {
            preconditionFailure("the bundled known-platforms table does not decode: \(error)")
        }
    }()

    /// The prefix offset for `bytes` (or the part of it in `range`). With `trailingData`, the
    /// module may be followed by others (a part of a combined file) and the size point is
    /// given to a prefix whose module fits, not only to one that fills the range exactly.
    public func locate(in bytes: [UInt8], range: Range<Int>? = nil, trailingData: Bool = false) -> Int {
        let range = range ?? 0..<bytes.count
        let size = range.count
        var best = (offset: 0, score: 0)
        func consider(_ offset: Int) -> Bool {
            let score = self.score(bytes, base: range.lowerBound, size: size, offset: offset, trailingData: trailingData)
            if score >= Self.passingScore { return true }
            if score > best.score { best = (offset, score) }
            return false
        }
        for offset in Self.preferredOffsets where consider(offset) { return offset }
        let limit = min(8192, size - 36 - ModuleHeader.size - 4)
        var offset = 4
        while offset < limit {
            if !Self.preferredOffsets.contains(offset), consider(offset) { return offset }
            offset += 4
        }
        return best.offset
    }

    /// binary-version-reader's score for a candidate prefix at `offset` (0 = rejected).
    func score(_ bytes: [UInt8], base: Int, size: Int, offset: Int, trailingData: Bool = false) -> Int {
        guard offset >= 0, offset + ModuleHeader.size <= size else { return 0 }
        let header = ModuleHeader(bytes: bytes, at: base + offset)
        guard header.endAddress > header.startAddress else { return 0 }
        let span = Int(header.endAddress - header.startAddress) + 4
        guard size >= span, header.function != .none else { return 0 }
        for dependency in [header.dependency, header.dependency2]
        where dependency.function == .none && (dependency.index != 0 || dependency.version != 0) {
            return 0
        }
        var score = 1
        if knownPlatforms.contains(header.platformID) { score += 1 }
        if header.function.isKnown { score += 1 }
        if header.dependency.function.isKnown { score += 1 }
        if header.dependency2.function.isKnown { score += 1 }
        if size == span || (trailingData && offset + ModuleHeader.size <= span) { score += 1 }
        if header.flags.unknownBits == 0 { score += 1 }
        return score
    }
}
