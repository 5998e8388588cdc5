import Foundation
import StationStore

extension LineReport {
    struct JSONShape: Encodable {
        let devices: Int
        let attempts: Int
        let passed: Int
        let failed: Int
        let firstPassYield: Double
        let yield: Double
        let throughputPerHour: Double
        let failuresByCode: [String: Int]
        let pareto: [ParetoEntry]
        let stations: [String]
        let records: [ProvisioningRecord]
    }

    /// `{devices, attempts, passed, failed, firstPassYield, failuresByCode, records, ...}`.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let shape = JSONShape(devices: devices, attempts: attempts, passed: passed, failed: failed, firstPassYield: firstPassYield, yield: yield,
                              throughputPerHour: throughputPerHour, failuresByCode: failuresByCode, pareto: pareto, stations: stations, records: records)
        return String(decoding: try encoder.encode(shape), as: UTF8.self)
    }

    /// One row per attempt (RFC 4180 quoting).
    /// `includeSecrets`: a `mobile_secret` column at the end (an explicit export).
    public func csv(includeSecrets: Bool = false) -> String {
        func field(_ value: String?) -> String {
            guard let value else { return "" }
            if value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) {
                return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            }
            return value
        }
        let iso = ISO8601DateFormatter()
        var lines = ["station,line,operator,device_id,attempt,platform,serial,iccid,imei,device_os,scan,started_at,finished_at,duration_s,result,failure_code,failure_message,written,import"
            + (includeSecrets ? ",mobile_secret" : "")]
        for r in records {
            let written = r.written.map { "\($0.file):\($0.action):\($0.sha256.prefix(12))" }.joined(separator: " ")
            lines.append([r.stationID, r.line, r.operatorName, r.deviceID, String(r.attempt), r.platform, r.serialNumber, r.iccid, r.imei, r.deviceOSVersion,
                          r.scan, iso.string(from: r.startedAt), iso.string(from: r.finishedAt), String(format: "%.1f", r.duration),
                          r.passed ? "PASS" : "FAIL", r.failureCode, r.failureMessage, written, r.importOutcome].map(field).joined(separator: ",")
                          + (includeSecrets ? "," + field(r.mobileSecret) : ""))
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    /// One self-contained HTML file: styles and charts (SVG) inline, nothing loaded from
    /// anywhere, so it can be mailed and opened offline.
    public func html(title: String = "Provisioning report") -> String {
        func esc(_ text: String?) -> String {
            (text ?? "").replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        func percent(_ x: Double) -> String { String(format: "%.1f%%", x * 100) }
        let iso = ISO8601DateFormatter()
        var body = """
            <h1>\(esc(title))</h1>
            <p class="meta">Stations: \(esc(stations.joined(separator: ", "))). \(first.map { "From " + iso.string(from: $0) } ?? "No records.") \(last.map { "to " + iso.string(from: $0) + "." } ?? "")</p>
            <table class="totals"><tr><th>Devices</th><th>Attempts</th><th>Passed</th><th>Failed</th><th>Yield</th><th>First-pass yield</th><th>Passed per hour</th></tr>
            <tr><td>\(devices)</td><td>\(attempts)</td><td class="pass">\(passed)</td><td class="fail">\(failed)</td><td>\(percent(yield))</td><td>\(percent(firstPassYield))</td><td>\(String(format: "%.1f", throughputPerHour))</td></tr></table>
            """
        // Pareto: bars by count, the cumulative share as a line.
        body += "<h2>Failures by cause</h2>"
        if pareto.isEmpty {
            body += "<p>No failed attempts.</p>"
        } else {
            let width = 640, barArea = 200, rowHeight = 26
            let height = pareto.count * rowHeight + 10
            let maximum = Double(pareto.map(\.count).max() ?? 1)
            var svg = "<svg width=\"\(width)\" height=\"\(height)\" role=\"img\" aria-label=\"Failures by code\">"
            for (index, entry) in pareto.enumerated() {
                let y = index * rowHeight + 5
                let bar = Int(Double(barArea) * Double(entry.count) / maximum)
                svg += "<text x=\"0\" y=\"\(y + 16)\" font-size=\"13\">\(esc(entry.code))</text>"
                svg += "<rect x=\"260\" y=\"\(y)\" width=\"\(max(bar, 2))\" height=\"20\" fill=\"#c0392b\"></rect>"
                svg += "<text x=\"\(266 + bar)\" y=\"\(y + 16)\" font-size=\"13\">\(entry.count) (\(percent(entry.cumulative)) cumulative)</text>"
            }
            svg += "</svg>"
            body += svg
        }
        body += "<h2>Throughput per hour</h2>"
        if hours.isEmpty {
            body += "<p>No records.</p>"
        } else {
            let column = 36, chartHeight = 160
            let maximum = Double(hours.map { $0.passed + $0.failed }.max() ?? 1)
            var svg = "<svg width=\"\(hours.count * column + 20)\" height=\"\(chartHeight + 40)\" role=\"img\" aria-label=\"Throughput per hour\">"
            let hourFormat = DateFormatter()
            hourFormat.dateFormat = "HH:mm"
            hourFormat.timeZone = TimeZone(identifier: "UTC")
            for (index, bucket) in hours.enumerated() {
                let x = index * column + 10
                let passHeight = Int(Double(chartHeight) * Double(bucket.passed) / maximum)
                let failHeight = Int(Double(chartHeight) * Double(bucket.failed) / maximum)
                svg += "<rect x=\"\(x)\" y=\"\(chartHeight - passHeight)\" width=\"24\" height=\"\(passHeight)\" fill=\"#27ae60\"></rect>"
                svg += "<rect x=\"\(x)\" y=\"\(chartHeight - passHeight - failHeight)\" width=\"24\" height=\"\(failHeight)\" fill=\"#c0392b\"></rect>"
                svg += "<text x=\"\(x)\" y=\"\(chartHeight + 16)\" font-size=\"10\">\(hourFormat.string(from: bucket.hourStart))</text>"
                svg += "<text x=\"\(x)\" y=\"\(chartHeight + 30)\" font-size=\"10\">\(bucket.passed)/\(bucket.passed + bucket.failed)</text>"
            }
            svg += "</svg>"
            body += svg + "<p class=\"meta\">Green: passed, red: failed attempts, per hour (UTC).</p>"
        }
        body += "<h2>Devices</h2><table class=\"devices\"><tr><th>Device ID</th><th>Platform</th><th>Serial</th><th>ICCID</th><th>Attempts</th><th>Result</th></tr>"
        let grouped = Dictionary(grouping: records, by: { $0.deviceID.lowercased() }).sorted { ($0.value.first?.startedAt ?? .distantPast) < ($1.value.first?.startedAt ?? .distantPast) }
        for (_, attempts) in grouped {
            guard let lastAttempt = attempts.last else { continue }
            let result = lastAttempt.passed ? "<span class=\"pass\">PASS</span>" : "<span class=\"fail\">FAIL \(esc(lastAttempt.failureCode))</span>"
            body += "<tr><td><details><summary>\(esc(lastAttempt.deviceID))</summary>"
            for attempt in attempts {
                body += "<div class=\"trace\"><b>Attempt \(attempt.attempt)</b> on \(esc(attempt.stationID))\(attempt.operatorName.map { " by " + esc($0) } ?? ""), "
                body += "\(iso.string(from: attempt.startedAt)), \(String(format: "%.1f", attempt.duration)) s: "
                body += attempt.passed ? "PASS" : "FAIL [\(esc(attempt.failureCode))] \(esc(attempt.failureMessage))"
                body += "<br>Steps: " + attempt.steps.map { "\(esc($0.step)) +\(String(format: "%.1f", $0.at)) s" }.joined(separator: ", ")
                if !attempt.written.isEmpty {
                    body += "<br>Written: " + attempt.written.map { "\(esc($0.file)) (\(esc($0.action)), SHA-256 \(esc(String($0.sha256.prefix(16))))…\($0.verified ? ", verified" : ""))" }.joined(separator: "; ")
                }
                if !attempt.modulesAfter.isEmpty {
                    body += "<br>Modules after: " + attempt.modulesAfter.map { "\(esc($0.function)) #\($0.index) v\($0.version)\($0.valid ? "" : " INVALID")" }.joined(separator: ", ")
                }
                body += "<br>Import: \(esc(attempt.importOutcome ?? "not queued"))</div>"
            }
            body += "</details></td><td>\(esc(lastAttempt.platform))</td><td>\(esc(lastAttempt.serialNumber))</td><td>\(esc(lastAttempt.iccid))</td><td>\(attempts.count)</td><td>\(result)</td></tr>"
        }
        body += "</table>"
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
            <title>\(esc(title))</title>
            <style>
            body { font-family: sans-serif; margin: 2em; color: #222; }
            table { border-collapse: collapse; margin: 1em 0; }
            th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
            .pass { color: #1e8449; font-weight: bold; } .fail { color: #c0392b; font-weight: bold; }
            .meta { color: #555; } .trace { margin: 0.5em 0 0.5em 1em; font-size: 90%; }
            </style></head><body>
            \(body)
            </body></html>
            """
    }
}
