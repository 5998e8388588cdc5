import CCurl
import CShims

/// A libcurl call that failed, with the call and the raw `CURLcode`.
public struct CurlError: Error, Sendable, Equatable, CustomStringConvertible {
    public let call: String
    public let rawCode: UInt32

    public var code: String { "CURL-\(rawCode)" }
    public var description: String {
        "\(call) failed: \(String(cString: cshim_curl_easy_strerror(CURLcode(rawValue: rawCode)))) (CURLcode \(rawCode))."
    }

    static func check(_ result: CURLcode, _ call: String) throws(CurlError) {
        guard result == CURLE_OK else { throw CurlError(call: call, rawCode: result.rawValue) }
    }
}

/// What the linked libcurl is and can do (`curl_version_info`).
public struct CurlLibraryInfo: Sendable, Equatable {
    public let version: String
    /// The TLS library and version, e.g. "OpenSSL/3.0.15"; nil when curl has none.
    public let tlsBackend: String?
    public let supportsHTTPS: Bool
    public let supportsIPv6: Bool
    /// The default CA bundle path (`CURLINFO_CAINFO`), when curl was built with one.
    public let caBundlePath: String?
    public let caDirectoryPath: String?
}

public enum CurlLibrary {
    /// `curl_global_init`, once per process (it is not thread-safe, so it runs inside the
    /// lazy, thread-safe initialiser of a static).
    private static let globalInit: UInt32 = cshim_curl_global_init(Int(CURL_GLOBAL_DEFAULT)).rawValue

    /// Reads the library's facts.
    /// - Throws: `CurlError` if libcurl cannot initialise or make a handle.
    public static func info() throws(CurlError) -> CurlLibraryInfo {
        if let message = cshim_curl_load() {
            throw CurlError(call: "dlopen(libcurl.so.4) (\(String(cString: message)); install Debian's libcurl4)", rawCode: CURLE_FAILED_INIT.rawValue)
        }
        try CurlError.check(CURLcode(rawValue: globalInit), "curl_global_init")
        guard let data = cshim_curl_version_info(CURLVERSION_TENTH)?.pointee else {
            throw CurlError(call: "curl_version_info", rawCode: CURLE_FAILED_INIT.rawValue)
        }
        var protocols: [String] = []
        if var cursor = data.protocols {
            while let name = cursor.pointee {
                protocols.append(String(cString: name))
                cursor += 1
            }
        }
        guard let handle = cshim_curl_easy_init() else { throw CurlError(call: "curl_easy_init", rawCode: CURLE_FAILED_INIT.rawValue) }
        defer { cshim_curl_easy_cleanup(handle) }
        var caInfo: UnsafePointer<CChar>?
        var caPath: UnsafePointer<CChar>?
        // CURLINFO_CAINFO/CAPATH exist from curl 7.84; older libraries answer "unknown option".
        let caInfoResult = cshim_curl_easy_getinfo_string(handle, CURLINFO_CAINFO, &caInfo)
        let caPathResult = cshim_curl_easy_getinfo_string(handle, CURLINFO_CAPATH, &caPath)
        return CurlLibraryInfo(
            version: data.version.map { String(cString: $0) } ?? "unknown",
            tlsBackend: data.ssl_version.map { String(cString: $0) },
            supportsHTTPS: protocols.contains("https") && (data.features & CURL_VERSION_SSL) != 0,
            supportsIPv6: (data.features & CURL_VERSION_IPV6) != 0,
            caBundlePath: caInfoResult == CURLE_OK ? caInfo.map { String(cString: $0) } : nil,
            caDirectoryPath: caPathResult == CURLE_OK ? caPath.map { String(cString: $0) } : nil)
    }
}
