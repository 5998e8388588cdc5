import Foundation

/// Compares our inspection JSON with an `EXPECTED.json` entry, key by key.
public enum ExpectedComparison {
    /// Provenance, naming and commentary keys: not facts about the bytes that a parser
    /// reports (`note` is free text explaining an entry).
    public static let ignoredKeys: Set<String> = [
        "source", "sha256", "sizeBytes", "kind", "assertedBy", "expectationSource", "reference",
        "referenceBehaviour", "referenceRoundTrip", "platformName", "moduleFunctionName", "flagNames", "note",
    ]

    /// Keys our report must reproduce exactly.
    public static let comparedKeys: Set<String> = [
        "file", "platformID", "moduleFunction", "moduleIndex", "moduleVersion", "moduleStartAddy", "moduleEndAddy",
        "moduleStartAddress", "moduleEndAddress", "sizeMatchesAddresses", "reserved", "flags", "dependency",
        "dependency2", "prefixOffset", "prefixSize", "crc", "suffixSize", "productId", "productVersion",
        "sha256Field", "compressedHeader", "combinedParts",
    ]

    /// A canonical text of a JSON value (sorted keys), so that values compare exactly and
    /// `true` never equals `1`.
    public static func canonical(_ value: Any?) -> String {
        guard let value, !(value is NSNull) else { return "null" }
        guard let data = try? JSONSerialization.data(withJSONObject: [value], options: [.sortedKeys]) else {
            return "<unserialisable \(value)>"
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Mismatches between `ours` and `expected`, one line each; keys listed in `skip` are
    /// neither compared nor reported. Keys neither compared nor ignored are reported too.
    public static func mismatches(ours: [String: Any], expected: [String: Any], skip: Set<String> = []) -> [String] {
        var problems: [String] = []
        for key in expected.keys.sorted() where !skip.contains(key) && !ignoredKeys.contains(key) {
            guard comparedKeys.contains(key) else {
                problems.append("key '\(key)' is neither compared nor ignored")
                continue
            }
            let mine = canonical(ours[key])
            let theirs = canonical(expected[key])
            if mine != theirs { problems.append("\(key): ours \(mine) expected \(theirs)") }
        }
        return problems
    }
}
