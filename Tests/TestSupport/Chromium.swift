import Foundation

/// Debian's chromium for the browser tests, and what its network log says a page asked for.
public enum Chromium {
    /// `CHROMIUM`, else Debian's paths; nil when it is not installed.
    public static var path: String? {
        let candidates = [ProcessInfo.processInfo.environment["CHROMIUM"], "/usr/bin/chromium", "/usr/bin/chromium-browser"].compactMap { $0 }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    public struct Unreadable: Error, CustomStringConvertible {
        public var description: String { "chromium's network log is unreadable" }
    }

    /// The URLs requested by pages whose network isolation key contains `site` (a page's
    /// own requests, not the browser's background traffic), from a `--log-net-log` file.
    public static func pageRequests(netLog: URL, site: String) throws -> [String] {
        guard let data = FileManager.default.contents(atPath: netLog.path),
              let log = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let constants = log["constants"] as? [String: Any], let types = constants["logEventTypes"] as? [String: Int],
              let start = types["URL_REQUEST_START_JOB"], let events = log["events"] as? [[String: Any]]
        else { throw Unreadable() }
        return events.compactMap { event -> String? in
            guard event["type"] as? Int == start, let params = event["params"] as? [String: Any], let url = params["url"] as? String,
                  (params["network_isolation_key"] as? String)?.contains(site) == true else { return nil }
            return url
        }
    }
}
