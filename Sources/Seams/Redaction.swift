/// Keeps secrets out of what the station prints and stores: a reply from a server or proxy
/// that echoes the request's headers would otherwise carry the product token into standard
/// output and the store. Pure.
public enum Redaction {
    public static let mark = "<token>"

    /// `text` with each of `secrets` (non-empty ones of 8 characters or more), anything
    /// token-shaped (a run of 32 or more hex digits: Particle tokens are 40; device IDs, 24,
    /// stay) and whatever follows `Bearer ` replaced by `<token>`.
    public static func redact(_ text: String, secrets: [String] = []) -> String {
        var result = text
        for secret in secrets where secret.count >= 8 {
            result = result.replacing(secret, with: mark)
        }
        result = replacingBearer(result)
        return replacingHexRuns(result)
    }

    /// `Bearer X` (any case) becomes `Bearer <token>`: X runs to whitespace, a quote, a
    /// comma, a semicolon or a brace.
    static func replacingBearer(_ text: String) -> String {
        let scalars = Array(text.unicodeScalars)
        let word = Array("bearer ".unicodeScalars)
        let stops: Set<Unicode.Scalar> = [" ", "\t", "\r", "\n", "\"", "'", ",", ";", "}", "\\"]
        var out = String.UnicodeScalarView()
        var index = 0
        while index < scalars.count {
            if index + word.count <= scalars.count,
               zip(scalars[index..<(index + word.count)], word).allSatisfy({ a, b in a == b || (a.isASCII && b.isASCII && a.value | 0x20 == b.value) }) {
                out.append(contentsOf: scalars[index..<(index + word.count)])
                index += word.count
                var end = index
                while end < scalars.count, !stops.contains(scalars[end]) { end += 1 }
                if end > index { out.append(contentsOf: mark.unicodeScalars) }
                index = end
                continue
            }
            out.append(scalars[index])
            index += 1
        }
        return String(out)
    }

    static func replacingHexRuns(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var run = String.UnicodeScalarView()
        func flush() {
            if run.count >= 32 { out.append(contentsOf: mark.unicodeScalars) } else { out.append(contentsOf: run) }
            run = String.UnicodeScalarView()
        }
        for scalar in text.unicodeScalars {
            if ("0"..."9").contains(scalar) || ("a"..."f").contains(scalar) || ("A"..."F").contains(scalar) {
                run.append(scalar)
            } else {
                flush()
                out.append(scalar)
            }
        }
        flush()
        return String(out)
    }
}

/// Whether a URL's host is this machine: `localhost`, `::1`, or an IPv4 literal in
/// 127.0.0.0/8, parsed (not a prefix test: `127.0.0.1.nip.io` is a name anywhere).
public enum Loopback {
    public static func isLoopbackHost(_ host: String) -> Bool {
        var bare = Substring(host)
        if bare.hasPrefix("["), bare.hasSuffix("]") { bare = bare.dropFirst().dropLast() }
        let lowered = bare.lowercased()
        if lowered == "localhost" || lowered == "::1" || lowered == "0:0:0:0:0:0:0:1" { return true }
        let parts = lowered.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return false }
        var octets: [Int] = []
        for part in parts {
            guard (1...3).contains(part.count), part.allSatisfy({ ("0"..."9").contains($0) }), let value = Int(part), value <= 255 else { return false }
            octets.append(value)
        }
        return octets[0] == 127
    }
}
