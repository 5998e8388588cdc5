import Foundation
import StationStore

/// The dashboard's pages (`station line serve`) as server-rendered HTML, readable without
/// JavaScript: one stylesheet and one small script, both served by the dashboard itself
/// (nothing from anywhere else); PASS and FAIL as words and colour. The script only adds live
/// updates: it listens to the server's events and reloads the page's main part.
public enum DashboardPage {
    static let esc = LineReport.esc
    static let percent = LineReport.percent

    /// Dates as the QA lead reads them: the server's time zone.
    static func formatter(_ timeZone: TimeZone) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = timeZone
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss zzz"
        return formatter
    }

    /// Every page: the header (the line, the search box, the live state) and `main`.
    public static func layout(title: String, main: String, search: String = "") -> String {
        """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width">
        <title>\(esc(title))</title>
        <link rel="stylesheet" href="/static/dashboard.css">
        <script src="/static/live.js" defer></script>
        </head><body>
        <header><a class="brand" href="/">Station dashboard</a>
        <nav><a href="/">Line</a> · <a href="/failures">Failures</a></nav>
        <form class="search" action="/search" method="get" role="search"><input name="q" value="\(esc(search))" placeholder="Device ID, serial, ICCID or IMEI" aria-label="Device ID, serial number, ICCID or IMEI" size="30"> <button type="submit">Find</button></form>
        <span id="live" class="live" data-state="static" data-version="">static page: reload for new results</span>
        </header>
        <main id="main">
        \(main)
        </main>
        </body></html>
        """
    }

    /// `page` (made by `layout`) marked with the version of the records it was made from, so
    /// the live script can tell, when its event stream (re)connects, that it missed a change.
    public static func stamped(_ page: String, version: String) -> String {
        guard let marker = page.range(of: "data-version=\"\"") else { return page }
        return page.replacingCharacters(in: marker, with: "data-version=\"\(esc(version))\"")
    }

    /// The range choices as links (the current one marked).
    static func rangeLinks(_ range: DashboardRange, path: String) -> String {
        "<p class=\"ranges\">Showing the \(esc(range.label)): " + DashboardRange.choices.map { choice in
            choice.key == range.key ? "<b>\(esc(choice.label))</b>" : "<a href=\"\(esc(path))?range=\(esc(choice.key))\">\(esc(choice.label))</a>"
        }.joined(separator: " · ") + "</p>"
    }

    /// `/`: the line now.
    public static func line(_ overview: DashboardOverview, timeZone: TimeZone) -> String {
        let time = formatter(timeZone)
        let totals = overview.totals
        var main = """
            <h1>The line now</h1>
            \(rangeLinks(overview.range, path: "/"))
            <p class="meta">As of \(esc(time.string(from: overview.generatedAt))); devices by their last attempt; protected units (Device Protection, to the online rework bench) apart, out of both yields.</p>
            <table class="totals" id="totals"><tr><th>Devices</th><th>Attempts</th><th>Passed</th><th>Failed</th><th>Protected</th><th>Yield</th><th>First-pass yield</th><th>Passed per hour</th></tr>
            <tr><td>\(totals.devices)</td><td>\(totals.attempts)</td><td class="pass">\(totals.passed) PASS</td><td class="fail">\(totals.failed) FAIL</td><td class="protected">\(totals.protected)</td><td id="yield">\(percent(totals.yield))</td><td id="first-pass-yield">\(percent(totals.firstPassYield))</td><td>\(String(format: "%.1f", totals.throughputPerHour))</td></tr></table>
            <h2>Stations</h2>
            """
        if overview.stations.isEmpty { main += "<p>No station recorded an attempt in the \(esc(overview.range.label)).</p>" }
        main += "<div class=\"cards\">"
        for station in overview.stations {
            let state = station.active ? "<span class=\"active\">active</span>"
                : "<span class=\"silent\">silent since \(esc(station.lastActivity.map { time.string(from: $0) } ?? "the range began"))</span>"
            main += """
                <section class="card" id="station-\(esc(station.id))"><h3><a href="/stations/\(esc(station.id))">\(esc(station.id))</a></h3>
                <p>\(state)\(station.line.map { " · " + esc($0) } ?? "")</p>
                <p><span class="pass">\(station.passed) PASS</span> · <span class="fail">\(station.failed) FAIL</span>\(station.protected > 0 ? " · <span class=\"protected\">\(station.protected) protected</span>" : "")</p>
                <p>First-pass yield \(percent(station.firstPassYield)) · yield \(percent(station.yield)) · \(String(format: "%.1f", station.throughputPerHour)) passed per hour</p>
                <p class="meta">Last operator: \(esc(station.lastOperator ?? "none named"))</p></section>
                """
        }
        main += "</div>"
        main += failuresTable(overview.failures)
        main += "<p><a href=\"/failures?range=\(esc(overview.range.key))\">Failures with their devices</a></p>"
        main += yieldChart(overview.buckets, timeZone: timeZone)
        return layout(title: "Station dashboard: the line now", main: main)
    }

    static func failuresTable(_ failures: [LineReport.ParetoEntry]) -> String {
        var body = "<h2 id=\"failures\">Failures by code</h2>"
        guard !failures.isEmpty else { return body + "<p>No failed attempts in the range.</p>" }
        body += "<table class=\"codes\"><tr><th>Code</th><th>Failed attempts</th><th>Cumulative</th><th>What it means</th><th>What to do</th></tr>"
        for entry in failures {
            body += "<tr><td><code>\(esc(entry.code))</code></td><td class=\"n\">\(entry.count)</td><td class=\"n\">\(percent(entry.cumulative))</td>"
            body += "<td>\(esc(entry.meaning ?? "not in the station's failure table"))</td><td>\(esc(entry.next ?? "call the line lead"))</td></tr>"
        }
        return body + "</table>"
    }

    /// Yield over the range: one bar per interval with attempts, its height the share that
    /// passed; an interval without attempts is a gap. Scales to the page's width.
    static func yieldChart(_ buckets: [LineReport.Bucket], timeZone: TimeZone) -> String {
        let (seconds, bars) = LineReport.chartBars(buckets)
        let per = LineReport.intervalName(seconds)
        let body = "<h2 id=\"yield-chart\">Yield per \(per)</h2>"
        guard !bars.isEmpty else { return body + "<p>No attempts in the range.</p>" }
        let label = DateFormatter()
        let days = (bars.last?.start.timeIntervalSince(bars[0].start) ?? 0) >= 86_400
        label.dateFormat = days ? "d MMM HH:mm" : "HH:mm"
        label.timeZone = timeZone
        let column = max(8, min(36, 1000 / bars.count)), height = 120
        let every = max(1, (days ? 90 : 60) / column)
        let width = bars.count * column + 80
        var svg = "<svg width=\"\(width)\" height=\"\(height + 30)\" viewBox=\"0 0 \(width) \(height + 30)\" role=\"img\" aria-label=\"Yield per \(per)\">"
        svg += "<text x=\"0\" y=\"10\" font-size=\"10\">100%</text><text x=\"0\" y=\"\(height)\" font-size=\"10\">0%</text>"
        svg += "<line x1=\"30\" y1=\"0\" x2=\"30\" y2=\"\(height)\" stroke=\"#999\"></line>"
        for (index, bucket) in bars.enumerated() {
            let x = 34 + index * column, all = bucket.passed + bucket.failed
            if all > 0 {
                let share = Double(bucket.passed) / Double(all)
                let bar = max(1, Int(Double(height) * share))
                svg += "<g><title>\(esc(label.string(from: bucket.start))): \(bucket.passed) of \(all) passed (\(percent(share)))</title>"
                svg += "<rect x=\"\(x)\" y=\"\(height - bar)\" width=\"\(column - 2)\" height=\"\(bar)\" fill=\"\(share >= 0.9 ? "#27ae60" : share >= 0.7 ? "#d4ac0d" : "#c0392b")\"></rect></g>"
            }
            if index % every == 0 { svg += "<text x=\"\(x)\" y=\"\(height + 14)\" font-size=\"10\">\(esc(label.string(from: bucket.start)))</text>" }
        }
        return body + svg + "</svg><p class=\"meta\">Each bar: attempts that finished in one \(per == "hour" || per == "day" ? per : "interval of " + per), its height the share that passed (green 90% or more, amber 70% or more, red below).</p>"
    }

    /// `/stations/ID`: one station's attempts over time, its failures and its operators.
    public static func station(_ view: StationView, timeZone: TimeZone) -> String {
        let time = formatter(timeZone)
        let totals = view.totals
        var main = """
            <h1>Station \(esc(view.id))</h1>
            \(rangeLinks(view.range, path: "/stations/" + view.id))
            <table class="totals"><tr><th>Devices</th><th>Attempts</th><th>Passed</th><th>Failed</th><th>Protected</th><th>Yield</th><th>First-pass yield</th><th>Passed per hour</th></tr>
            <tr><td>\(totals.devices)</td><td>\(totals.attempts)</td><td class="pass">\(totals.passed) PASS</td><td class="fail">\(totals.failed) FAIL</td><td>\(totals.protected)</td><td>\(percent(totals.yield))</td><td>\(percent(totals.firstPassYield))</td><td>\(String(format: "%.1f", totals.throughputPerHour))</td></tr></table>
            <p><a href="/failures?station=\(esc(view.id))&amp;range=\(esc(view.range.key))">This station's failures, with their devices</a></p>
            """
        main += failuresTable(view.failures)
        main += yieldChart(view.buckets, timeZone: timeZone)
        main += "<h2>Operators</h2><table><tr><th>Operator</th><th>Attempts</th><th>Passed</th><th>Failed</th><th>Pass rate</th></tr>"
        for group in view.operators {
            main += "<tr><td>\(esc(group.key))</td><td class=\"n\">\(group.attempts)</td><td class=\"n pass\">\(group.passed)</td><td class=\"n fail\">\(group.failed)</td><td class=\"n\">\(percent(group.passRate))</td></tr>"
        }
        main += "</table><h2>Attempts</h2>" + attemptsTable(view.attempts, time: time)
        return layout(title: "Station \(view.id)", main: main)
    }

    static func attemptsTable(_ attempts: [StationView.AttemptRow], time: DateFormatter) -> String {
        var body = "<table><tr><th>Finished</th><th>Device</th><th>Attempt</th><th>Operator</th><th>Result</th></tr>"
        for row in attempts {
            let result = row.passed ? "<span class=\"pass\">PASS</span>"
                : row.protected ? "<span class=\"protected\">PROTECTED \(esc(row.failureCode))</span>" : "<span class=\"fail\">FAIL \(esc(row.failureCode))</span>"
            body += "<tr><td>\(esc(time.string(from: row.finishedAt)))</td><td><a href=\"/devices/\(esc(row.deviceID))\">\(esc(row.deviceID))</a></td>"
            body += "<td class=\"n\">\(row.attempt)</td><td>\(esc(row.operatorName))</td><td>\(result)</td></tr>"
        }
        return body + "</table>"
    }

    /// `/failures`: failures by code (Pareto) for a range and a station, each bar linking to
    /// its attempts' devices below.
    public static func failures(_ view: FailuresView, timeZone: TimeZone) -> String {
        let time = formatter(timeZone)
        let scope = view.station.map { "station=" + $0 + "&" } ?? ""
        var main = "<h1>Failures by code\(view.station.map { " at " + esc($0) } ?? ", all stations")</h1>"
        main += "<p class=\"ranges\">Showing the \(esc(view.range.label)): " + DashboardRange.choices.map { choice in
            choice.key == view.range.key ? "<b>\(esc(choice.label))</b>" : "<a href=\"/failures?\(esc(scope))range=\(esc(choice.key))\">\(esc(choice.label))</a>"
        }.joined(separator: " · ") + "</p>"
        main += "<p class=\"ranges\">Station: " + ([nil] + view.stations.map { Optional($0) }).map { station in
            let name = station ?? "all"
            return station == view.station ? "<b>\(esc(name))</b>" : "<a href=\"/failures?\(station.map { "station=" + esc($0) + "&amp;" } ?? "")range=\(esc(view.range.key))\">\(esc(name))</a>"
        }.joined(separator: " · ") + "</p>"
        guard !view.codes.isEmpty else { return layout(title: "Failures", main: main + "<p>No failed attempts in the range.</p>") }
        let width = 720, barArea = 260, rowHeight = 26
        let maximum = Double(view.codes.map(\.count).max() ?? 1)
        var svg = "<svg width=\"\(width)\" height=\"\(view.codes.count * rowHeight + 10)\" viewBox=\"0 0 \(width) \(view.codes.count * rowHeight + 10)\" role=\"img\" aria-label=\"Failures by code\">"
        for (index, code) in view.codes.enumerated() {
            let y = index * rowHeight + 5, bar = max(2, Int(Double(barArea) * Double(code.count) / maximum))
            svg += "<a href=\"#code-\(esc(code.code))\"><text x=\"0\" y=\"\(y + 16)\" font-size=\"13\">\(esc(code.code))</text>"
            svg += "<rect x=\"250\" y=\"\(y)\" width=\"\(bar)\" height=\"20\" fill=\"#c0392b\"></rect>"
            svg += "<text x=\"\(256 + bar)\" y=\"\(y + 16)\" font-size=\"13\">\(code.count) (\(percent(code.cumulative)) cumulative)</text></a>"
        }
        main += svg + "</svg>"
        for code in view.codes {
            main += "<section id=\"code-\(esc(code.code))\"><h2><code>\(esc(code.code))</code>: \(code.count) failed attempt\(code.count == 1 ? "" : "s")</h2>"
            main += "<p>\(esc(code.meaning ?? "not in the station's failure table")) What to do: \(esc(code.next ?? "call the line lead")).</p>"
            main += attemptsTable(code.attempts, time: time) + "</section>"
        }
        return layout(title: "Failures by code", main: main)
    }

    static func result(_ record: ProvisioningRecord) -> String {
        record.passed ? "<span class=\"pass\">PASS</span>"
            : LineReport.isProtected(record) ? "<span class=\"protected\">PROTECTED \(esc(record.failureCode))</span>"
            : "<span class=\"fail\">FAIL \(esc(record.failureCode))</span>"
    }

    /// `/devices/ID`: identity, then each attempt as a timeline with its modules, what was
    /// written and its import.
    public static func device(_ history: DeviceHistory, timeZone: TimeZone) -> String {
        let time = formatter(timeZone)
        var main = """
            <h1>Device <span id="device-id">\(esc(history.deviceID))</span></h1>
            <table class="identity"><tr><th>Platform</th><td>\(esc(history.platform ?? "unknown"))</td></tr>
            <tr><th>Serial number</th><td>\(esc(history.serialNumber ?? "none read"))</td></tr>
            <tr><th>ICCID</th><td>\(esc(history.iccid ?? "none read"))</td></tr>
            <tr><th>IMEI</th><td>\(esc(history.imei ?? "none read"))</td></tr>
            <tr><th>Attempts</th><td>\(history.attempts.count), at \(esc(Array(Set(history.attempts.map(\.stationID))).sorted().joined(separator: ", ")))</td></tr></table>
            """
        for attempt in history.attempts {
            main += "<section class=\"trace \(attempt.passed ? "passed" : "failed")\"><h2>Attempt \(attempt.attempt) at <a href=\"/stations/\(esc(attempt.stationID))\">\(esc(attempt.stationID))</a>: \(result(attempt.record))</h2>"
            main += "<p>\(esc(time.string(from: attempt.startedAt))) to \(esc(time.string(from: attempt.finishedAt)))\(attempt.operatorName.map { ", operator " + esc($0) } ?? "")\(attempt.line.map { ", " + esc($0) } ?? "")</p>"
            if !attempt.passed {
                main += "<p class=\"reason\"><code>\(esc(attempt.failureCode))</code> \(esc(attempt.failureMessage))</p>"
                if let meaning = attempt.failureMeaning { main += "<p>Meaning: \(esc(meaning)) What to do: \(esc(attempt.next ?? "call the line lead")).</p>" }
            }
            main += LineReport.timelineSVG(attempt.record)
            main += "<p>Device OS \(esc(attempt.deviceOSBefore ?? "unknown")) before, \(esc(attempt.deviceOSAfter ?? "unknown")) after\(attempt.protection.map { "; Device Protection: " + esc($0) } ?? "")</p>"
            main += modulesTable("Modules before", attempt.modulesBefore) + modulesTable("Modules after", attempt.modulesAfter)
            main += "<h3>Written</h3>"
            if attempt.written.isEmpty {
                main += "<p>Nothing was written.</p>"
            } else {
                main += "<table><tr><th>File</th><th>Action</th><th>Bytes</th><th>SHA-256</th><th>Verified</th></tr>"
                for item in attempt.written {
                    main += "<tr><td>\(esc(item.file))</td><td>\(esc(HumanNames.action(item.action)))</td><td class=\"n\">\(item.bytes)</td><td><code class=\"hash\">\(esc(item.sha256))</code></td><td>\(item.verified ? "yes" : "no")</td></tr>"
                }
                main += "</table>"
            }
            main += "<p>Import: \(esc(attempt.importState))</p></section>"
        }
        return layout(title: "Device \(history.deviceID)", main: main, search: history.deviceID)
    }

    static func modulesTable(_ title: String, _ modules: [ProvisioningRecord.ModuleVersion]) -> String {
        guard !modules.isEmpty else { return "<h3>\(esc(title))</h3><p>None recorded.</p>" }
        var body = "<h3>\(esc(title))</h3><table class=\"modules\"><tr><th>Module</th><th>Version</th><th>Valid</th><th title=\"the module's own SHA-256, the field in its suffix\">SHA-256</th></tr>"
        for module in modules {
            let hash = module.sha256.map { "<code class=\"hash\">\(esc($0))</code>" } ?? "<span class=\"meta\">not reported</span>"
            body += "<tr><td>\(esc(HumanNames.function(module.function))) \(module.index)</td><td class=\"n\">\(module.version)</td><td>\(module.valid ? "yes" : "<span class=\"fail\">no</span>")</td><td>\(hash)</td></tr>"
        }
        return body + "</table>"
    }

    /// A station with no attempt in the range.
    public static func noStation(_ id: String, range: DashboardRange) -> String {
        layout(title: "No attempts", main: "<h1>No attempts</h1>\(rangeLinks(range, path: "/stations/" + id))<p>Station <code>\(esc(id))</code> recorded no attempt in the \(esc(range.label)).</p>")
    }

    /// The records cannot be read now (the line database down, a store gone): what failed,
    /// its code, and that the page comes back by itself (the live script fetches it again
    /// when its event stream reconnects).
    public static func unavailable(code: String, message: String) -> String {
        layout(title: "Records unavailable", main: """
            <section id="unavailable"><h1>The records cannot be read now</h1>
            <p class="fail"><code>\(esc(code))</code> \(esc(message))</p>
            <p>Nothing is lost: the stations keep their records and ship them when they can. This page shows them again by itself once they can be read (or reload it).</p></section>
            """)
    }

    /// A search that found nothing, or a device with no records.
    public static func notFound(_ term: String) -> String {
        layout(title: "Not found", main: "<h1>Nothing found</h1><p>No device ID, serial number, ICCID or IMEI in the records is <code>\(esc(term))</code>. Check it against the sticker, or scan it again.</p>",
               search: term)
    }

    /// The sign-in form of a dashboard that needs a viewer token.
    public static func signIn(failed: Bool) -> String {
        layout(title: "Sign in", main: """
            <h1>Sign in</h1>
            \(failed ? "<p class=\"fail\">That token is not this dashboard's. Ask the line lead for the viewer token.</p>" : "<p>This dashboard needs its viewer token.</p>")
            <form method="post" action="/login"><label>Viewer token <input type="password" name="token" autocomplete="current-password" size="40"></label> <button type="submit">Sign in</button></form>
            """)
    }

    /// The one stylesheet: readable at 1280 px, PASS/FAIL as words and colour, pages that print.
    public static let stylesheet = """
        body { font-family: sans-serif; margin: 0; color: #222; }
        header { display: flex; flex-wrap: wrap; gap: 1em; align-items: center; padding: 0.6em 1.5em; background: #f2f3f4; border-bottom: 1px solid #ccc; }
        header .brand { font-weight: bold; color: #222; text-decoration: none; }
        main { padding: 0 1.5em 2em; max-width: 1220px; }
        table { border-collapse: collapse; margin: 0.8em 0; }
        th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
        td.n { text-align: right; }
        .pass { color: #1e8449; font-weight: bold; } .fail { color: #c0392b; font-weight: bold; } .protected { color: #7d3c98; font-weight: bold; }
        .meta { color: #555; } .active { color: #1e8449; } .silent { color: #b9770e; }
        .cards { display: flex; flex-wrap: wrap; gap: 1em; }
        .card { border: 1px solid #ccc; border-radius: 4px; padding: 0 1em; min-width: 260px; }
        .trace { margin: 1em 0; padding: 0 1em; border-left: 4px solid #ccc; break-inside: avoid; }
        .trace.failed { border-left-color: #c0392b; } .trace.passed { border-left-color: #27ae60; }
        .live { margin-left: auto; font-size: 0.9em; color: #555; }
        .live[data-state="live"] { color: #1e8449; } .live[data-state="reconnecting"] { color: #b9770e; }
        code.hash { font-size: 0.85em; word-break: break-all; }
        svg { max-width: 100%; height: auto; }
        @page { margin: 1.5cm; }
        @media print {
          header { display: none; }
          * { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
          main { max-width: none; padding: 0; } a { color: inherit; text-decoration: none; }
          h2, h3 { break-after: avoid; } tr { break-inside: avoid; } table { width: 100%; }
        }
        """

    /// The one script: live updates as progressive enhancement. It listens to `/events` and,
    /// on each update, fetches the page again and swaps its main part; the header says live
    /// or reconnecting. Each (re)connection's `hello` names the records' version: one other
    /// than the page's (changes while the page loaded or the server was away) fetches too.
    public static let liveScript = """
        (function () {
          var badge = document.getElementById("live");
          if (!badge || !window.EventSource) { return; }
          function state(name, text) { badge.setAttribute("data-state", name); badge.textContent = text; }
          var seen = badge.getAttribute("data-version"), source = null;
          function refresh() {
            fetch(window.location.href, { credentials: "same-origin" }).then(function (response) { return response.text(); }).then(function (text) {
              var page = new DOMParser().parseFromString(text, "text/html");
              var fresh = page.getElementById("main");
              if (fresh) { document.getElementById("main").innerHTML = fresh.innerHTML; }
            });
          }
          function connect() {
            source = new EventSource("/events");
            source.onopen = function () { state("live", "live"); };
            source.onerror = function () { state("reconnecting", "reconnecting…"); };
            source.addEventListener("hello", function (event) {
              var missed = document.getElementById("unavailable") !== null || (seen !== null && seen !== "" && event.data !== seen);
              seen = event.data;
              if (missed) { refresh(); }
            });
            source.addEventListener("update", function (event) { seen = event.data; refresh(); });
          }
          // A page left for another (or kept in the back-forward cache) closes its stream: an
          // open one keeps holding one of the browser's few connections to this server, and
          // after a handful of pages the next one would wait for a free connection.
          window.addEventListener("pagehide", function () { if (source) { source.close(); source = null; } });
          window.addEventListener("pageshow", function (event) { if (event.persisted && !source) { connect(); } });
          connect();
        })();
        """
}
