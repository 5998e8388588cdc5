import Foundation
import StationStore

extension LineReport {
    static func esc(_ text: String?) -> String {
        (text ?? "").replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func percent(_ x: Double) -> String { String(format: "%.1f%%", x * 100) }

    /// One self-contained HTML file: styles and charts (SVG) inline, nothing loaded from
    /// anywhere, so it can be mailed and opened offline; every trace is on the page (printing
    /// prints them all).
    public func html(title: String = "Provisioning report") -> String {
        let esc = Self.esc, percent = Self.percent
        let iso = ISO8601DateFormatter()
        let range = "From " + (since.map { iso.string(from: $0) } ?? "the first record") + " to " + (until.map { "before " + iso.string(from: $0) } ?? "the last record")
        var body = """
            <h1>\(esc(title))</h1>
            <p class="meta">\(esc(range)). Stations: \(esc(stations.joined(separator: ", "))). \(first.map { "Records from " + iso.string(from: $0) } ?? "No records.") \(last.map { "to " + iso.string(from: $0) + "." } ?? "")</p>
            <table class="totals" id="totals"><tr><th>Devices</th><th>Attempts</th><th>Passed</th><th>Failed</th><th>Protected (to online rework)</th><th>Yield</th><th>First-pass yield</th><th>Passed per hour</th></tr>
            <tr><td>\(devices)</td><td>\(attempts)</td><td class="pass">\(passed)</td><td class="fail">\(failed)</td><td class="protected">\(`protected`)</td><td>\(percent(yield))</td><td>\(percent(firstPassYield))</td><td>\(String(format: "%.1f", throughputPerHour))</td></tr></table>
            <p class="meta">Passed and failed count devices by their last attempt; first-pass yield is devices that passed on their first attempt. Protected units (Device Protection: the bench may not write them; they go to the online rework bench) are counted apart, not as failures, and left out of both yields.</p>
            """
        body += paretoSection()
        body += throughputSection()
        body += breakdownSection()
        body += devicesSection()
        return """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
            <meta name="viewport" content="width=device-width">
            <title>\(esc(title))</title>
            <style>
            body { font-family: sans-serif; margin: 2em; color: #222; max-width: 1200px; }
            table { border-collapse: collapse; margin: 1em 0; }
            th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
            td.n { text-align: right; }
            .pass { color: #1e8449; font-weight: bold; } .fail { color: #c0392b; font-weight: bold; } .protected { color: #7d3c98; font-weight: bold; }
            .meta { color: #555; } .trace { margin: 1em 0; padding: 0.5em 1em; border-left: 4px solid #ccc; break-inside: avoid; }
            .trace.failed { border-left-color: #c0392b; } .trace.passed { border-left-color: #27ae60; }
            .breakdowns { display: flex; flex-wrap: wrap; gap: 2em; } .breakdowns h3 { margin-bottom: 0; }
            svg text { font-family: sans-serif; }
            @media print { body { margin: 0; max-width: none; } a { color: inherit; text-decoration: none; } h2 { break-after: avoid; } }
            </style></head><body>
            \(body)
            </body></html>
            """
    }

    func paretoSection() -> String {
        let esc = Self.esc, percent = Self.percent
        var body = "<h2 id=\"failures\">Failures by cause</h2>"
        guard !pareto.isEmpty else { return body + "<p>No failed attempts.</p>" }
        let width = 640, barArea = 200, rowHeight = 26
        let maximum = Double(pareto.map(\.count).max() ?? 1)
        var svg = "<svg width=\"\(width)\" height=\"\(pareto.count * rowHeight + 10)\" role=\"img\" aria-label=\"Failures by code\">"
        for (index, entry) in pareto.enumerated() {
            let y = index * rowHeight + 5
            let bar = Int(Double(barArea) * Double(entry.count) / maximum)
            svg += "<text x=\"0\" y=\"\(y + 16)\" font-size=\"13\">\(esc(entry.code))</text>"
            svg += "<rect x=\"260\" y=\"\(y)\" width=\"\(max(bar, 2))\" height=\"20\" fill=\"#c0392b\"></rect>"
            svg += "<text x=\"\(266 + bar)\" y=\"\(y + 16)\" font-size=\"13\">\(entry.count) (\(percent(entry.cumulative)) cumulative)</text>"
        }
        body += svg + "</svg>"
        body += "<table class=\"codes\"><tr><th>Code</th><th>Failed attempts</th><th>Cumulative</th><th>What it means</th><th>What to do</th></tr>"
        for entry in pareto {
            body += "<tr><td><code>\(esc(entry.code))</code></td><td class=\"n\">\(entry.count)</td><td class=\"n\">\(percent(entry.cumulative))</td>"
            body += "<td>\(esc(entry.meaning ?? "not in the station's failure table"))</td><td>\(esc(entry.next ?? "call the line lead"))</td></tr>"
        }
        return body + "</table>"
    }

    func throughputSection() -> String {
        let esc = Self.esc
        let (seconds, bars) = LineReport.chartBars(buckets)
        let per = LineReport.intervalName(seconds)
        let body = "<h2 id=\"throughput\">Throughput per \(per)</h2>"
        guard !bars.isEmpty else { return body + "<p>No records.</p>" }
        let column = max(8, min(36, 1100 / bars.count)), chartHeight = 160
        let maximum = Double(max(1, bars.map { $0.passed + $0.failed }.max() ?? 1))
        let label = DateFormatter()
        label.dateFormat = "MM-dd HH:mm"
        label.timeZone = TimeZone(identifier: "UTC")
        let every = max(1, 90 / column)
        let width = bars.count * column + 80
        var svg = "<svg width=\"\(width)\" height=\"\(chartHeight + 46)\" viewBox=\"0 0 \(width) \(chartHeight + 46)\" role=\"img\" aria-label=\"Throughput per \(per)\">"
        svg += "<text x=\"0\" y=\"12\" font-size=\"10\">\(Int(maximum))</text><line x1=\"30\" y1=\"0\" x2=\"30\" y2=\"\(chartHeight)\" stroke=\"#999\"></line>"
        for (index, bucket) in bars.enumerated() {
            let x = 34 + index * column
            let passHeight = Int(Double(chartHeight) * Double(bucket.passed) / maximum)
            let failHeight = Int(Double(chartHeight) * Double(bucket.failed) / maximum)
            let tip = "\(label.string(from: bucket.start)) UTC: \(bucket.passed) passed, \(bucket.failed) failed"
            svg += "<g><title>\(esc(tip))</title>"
            svg += "<rect x=\"\(x)\" y=\"\(chartHeight - passHeight)\" width=\"\(column - 2)\" height=\"\(passHeight)\" fill=\"#27ae60\"></rect>"
            svg += "<rect x=\"\(x)\" y=\"\(chartHeight - passHeight - failHeight)\" width=\"\(column - 2)\" height=\"\(failHeight)\" fill=\"#c0392b\"></rect></g>"
            if index % every == 0 {
                svg += "<text x=\"\(x)\" y=\"\(chartHeight + 14)\" font-size=\"10\">\(esc(label.string(from: bucket.start)))</text>"
                svg += "<text x=\"\(x)\" y=\"\(chartHeight + 28)\" font-size=\"10\">\(bucket.passed)/\(bucket.passed + bucket.failed)</text>"
            }
        }
        svg += "</svg>"
        return body + svg + "<p class=\"meta\">Attempts finished in each \(per == "hour" || per == "day" ? per : "interval of " + per) (UTC): green passed, red failed; the labels give passed/all.</p>"
    }

    func breakdownSection() -> String {
        let esc = Self.esc, percent = Self.percent
        var body = "<h2 id=\"breakdowns\">Breakdown</h2><div class=\"breakdowns\">"
        for (name, groups) in [("By station", breakdowns.station), ("By operator", breakdowns.operator), ("By platform", breakdowns.platform),
                               ("By Device OS found (before flashing)", breakdowns.deviceOS)] {
            body += "<section><h3>\(esc(name))</h3><table><tr><th></th><th>Devices</th><th>Attempts</th><th>Passed</th><th>Failed</th><th>Protected</th><th>Pass rate</th></tr>"
            for group in groups {
                body += "<tr><td>\(esc(group.key))</td><td class=\"n\">\(group.devices)</td><td class=\"n\">\(group.attempts)</td>"
                body += "<td class=\"n pass\">\(group.passed)</td><td class=\"n fail\">\(group.failed)</td><td class=\"n\">\(group.protected)</td><td class=\"n\">\(percent(group.passRate))</td></tr>"
            }
            body += "</table></section>"
        }
        return body + "</div><p class=\"meta\">Counted in attempts; pass rate is passed attempts over attempts, protected units' left out.</p>"
    }

    func devicesSection() -> String {
        let esc = Self.esc
        let iso = ISO8601DateFormatter()
        let grouped = Dictionary(grouping: records, by: { $0.deviceID.lowercased() }).sorted {
            ($0.value.first?.startedAt ?? .distantPast, $0.key) < ($1.value.first?.startedAt ?? .distantPast, $1.key)
        }
        var body = "<h2 id=\"devices\">Devices</h2><table class=\"devices\"><tr><th>Device ID</th><th>Platform</th><th>Serial</th><th>ICCID</th>"
        body += "<th>Device OS before</th><th>Device OS after</th><th>Attempts</th><th>Result</th></tr>"
        for (key, attempts) in grouped {
            guard let lastAttempt = attempts.last else { continue }
            let result = lastAttempt.passed ? "<span class=\"pass\">PASS</span>"
                : Self.isProtected(lastAttempt) ? "<span class=\"protected\">PROTECTED \(esc(lastAttempt.failureCode))</span>"
                : "<span class=\"fail\">FAIL \(esc(lastAttempt.failureCode))</span>"
            body += "<tr><td><a href=\"#trace-\(esc(key))\">\(esc(lastAttempt.deviceID))</a></td><td>\(esc(lastAttempt.platform))</td>"
            body += "<td>\(esc(lastAttempt.serialNumber))</td><td>\(esc(lastAttempt.iccid))</td><td>\(esc(attempts.first?.deviceOSVersion ?? "unknown"))</td>"
            body += "<td>\(esc(lastAttempt.deviceOSAfter ?? "unknown"))</td><td class=\"n\">\(attempts.count)</td><td>\(result)</td></tr>"
        }
        body += "</table><h2 id=\"traces\">Device traces</h2>"
        for (key, attempts) in grouped {
            body += "<section id=\"trace-\(esc(key))\"><h3>\(esc(attempts.first?.deviceID))</h3>"
            for attempt in attempts {
                let explanation = attempt.failureCode.flatMap { explanations[$0] }
                body += "<div class=\"trace \(attempt.passed ? "passed" : "failed")\"><b>Attempt \(attempt.attempt)</b> on \(esc(attempt.stationID))"
                body += "\(attempt.operatorName.map { " by " + esc($0) } ?? ""), \(iso.string(from: attempt.startedAt)), \(String(format: "%.1f", attempt.duration)) s: "
                body += attempt.passed ? "<span class=\"pass\">PASS</span>" : "<span class=\"fail\">FAIL \(esc(attempt.failureCode))</span> \(esc(attempt.failureMessage))"
                if let explanation { body += "<br>Meaning: \(esc(explanation.meaning)) What to do: \(esc(explanation.next))." }
                body += "<br>" + Self.timelineSVG(attempt)
                body += "<br>Device OS: \(esc(attempt.deviceOSVersion ?? "unknown")) before, \(esc(attempt.deviceOSAfter ?? "unknown")) after"
                body += "<br>Written: " + (attempt.written.isEmpty ? "nothing" : attempt.written.map {
                    "\(esc($0.file)) (\(esc(HumanNames.action($0.action))), SHA-256 \(esc(String($0.sha256.prefix(16))))…\($0.verified ? ", verified" : ""))"
                }.joined(separator: "; "))
                if !attempt.modulesAfter.isEmpty {
                    body += "<br>Modules after: " + attempt.modulesAfter.map { esc(HumanNames.module($0)) }.joined(separator: ", ")
                }
                if let protection = attempt.protection { body += "<br>Device Protection: \(esc(protection))\(protection == "service" && attempt.passed ? " (flashed in Service Mode)" : "")" }
                body += "<br>Import: \(esc(importState(attempt)))</div>"
            }
            body += "</section>"
        }
        return body
    }

    /// The attempt's steps as bars on one time axis, each labelled with its name and duration.
    static func timelineSVG(_ record: ProvisioningRecord) -> String {
        let spans = timeline(record)
        guard !spans.isEmpty else { return "<span class=\"meta\">No steps recorded.</span>" }
        let total = max(record.duration, spans.map { $0.start + $0.seconds }.max() ?? 0, 0.1)
        let width = 900.0, labelWidth = 190.0, rowHeight = 18
        let scale = (width - labelWidth - 70) / total
        var svg = "<svg class=\"timeline\" width=\"\(Int(width))\" height=\"\(spans.count * rowHeight + 6)\" viewBox=\"0 0 \(Int(width)) \(spans.count * rowHeight + 6)\" role=\"img\" aria-label=\"Timeline of attempt \(record.attempt)\">"
        for (index, span) in spans.enumerated() {
            let y = index * rowHeight + 2
            let x = labelWidth + span.start * scale
            let color = span.step == "failed" ? "#c0392b" : span.step == "passed" ? "#27ae60" : "#2e86c1"
            svg += "<text x=\"0\" y=\"\(y + 12)\" font-size=\"12\">\(esc(HumanNames.step(span.step)))</text>"
            svg += "<rect x=\"\(String(format: "%.1f", x))\" y=\"\(y)\" width=\"\(String(format: "%.1f", max(2, span.seconds * scale)))\" height=\"14\" fill=\"\(color)\"></rect>"
            svg += "<text x=\"\(String(format: "%.1f", x + max(2, span.seconds * scale) + 4))\" y=\"\(y + 12)\" font-size=\"11\">\(String(format: "%.1f", span.seconds)) s</text>"
        }
        return svg + "</svg>"
    }
}
