import Foundation
import Seams

/// The credentials file a station config points at (`credentials_file`): kept apart from
/// the config so the config can be shared and reviewed, and readable by its owner only.
///
/// ```toml
/// product_token = "..."        # an API user token with devices:import, sims:import, ...
/// test_account_token = "..."   # optional: the test account, for the fallback
/// ```
public struct Credentials: Sendable, Hashable {
    public var productToken: Token
    public var testAccountToken: Token?

    /// Parses the file's text. `mode` is its permission bits (`st_mode & 0o777`); a file
    /// readable or writable by group or others is refused with the fix.
    public static func parse(_ text: String, file: String, mode: UInt32) throws(ConfigFileError) -> Credentials {
        try requireOwnerOnly(file, mode: mode)
        let root = try TOMLFields(try TOMLFields.parse(text, file: file), path: "", file: file, allowed: ["product_token", "test_account_token"])
        func token(_ key: String) throws(ConfigFileError) -> Token? {
            guard let text = try root.string(key) else { return nil }
            guard let token = looksLikeToken(text) else {
                // Never echo the value: it may be a real token with a typo.
                throw root.fail(key, "does not look like a Particle access token (letters and digits, 20 or more); paste it again from the console.")
            }
            return token
        }
        guard let product = try token("product_token") else {
            throw root.fail("product_token", "missing; create an API user for the product with devices:import and sims:import and paste its token.")
        }
        return Credentials(productToken: product, testAccountToken: try token("test_account_token"))
    }
}

extension Credentials {
    /// Files holding tokens must be readable by their owner only.
    static func requireOwnerOnly(_ file: String, mode: UInt32) throws(ConfigFileError) {
        guard mode & 0o077 == 0 else {
            throw ConfigFileError(
                file: file, key: nil,
                problem: "holds access tokens but is readable by others (mode \(String(mode & 0o777, radix: 8))); run: chmod 600 \(file)")
        }
    }

    static func looksLikeToken(_ text: String) -> Token? {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard trimmed.count >= 20, trimmed.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }) else { return nil }
        return Token(trimmed)
    }

    /// A token file (`station queue sync --token-file`): just the product token on one line,
    /// under the same permission rule as the credentials file.
    public static func parseTokenFile(_ text: String, file: String, mode: UInt32) throws(ConfigFileError) -> Token {
        try requireOwnerOnly(file, mode: mode)
        guard let token = looksLikeToken(text) else {
            throw ConfigFileError(file: file, key: nil, problem: "should hold just the product token on one line.")
        }
        return token
    }
}

extension StationConfig {
    /// A fallback that needs the test account must have its token.
    public func check(_ credentials: Credentials, file: String) throws(ConfigFileError) {
        if fallback.policy != .off && credentials.testAccountToken == nil {
            throw ConfigFileError(
                file: file, key: "test_account_token",
                problem: "missing, but the station config's [fallback] policy is \(fallback.policy.rawValue); add the test account's token or set policy = \"off\".")
        }
    }
}
