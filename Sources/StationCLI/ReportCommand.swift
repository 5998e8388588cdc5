import ArgumentParser
import Foundation
import StationReports
import StationStore

/// `station report [--store PATH ...] [--since ...] [--station ...] [--operator ...] --format csv|html|json`
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Yield, first-pass yield, throughput, failures by cause and device traces from station stores.",
        discussion: """
            Several --store files (one per station) merge into one line-wide report. --format json \
            prints an object with devices, attempts, passed, failed, firstPassYield, failuresByCode \
            and records; csv one row per attempt; html one self-contained file a QA lead can open or \
            mail. Writes to --out, or standard output. --events instead exports the append-only \
            event log as JSON Lines.
            """)

    @Option(name: .long, help: "A station store (repeatable).") var store: [String] = []
    @Option(name: .long, help: "Only attempts finished at or after this time (YYYY-MM-DD or ISO 8601).") var since: String?
    @Option(name: .long, help: "Only this station's attempts.") var station: String?
    @Option(name: .long, help: "Only this operator's attempts.") var `operator`: String?
    @Option(name: .long, help: "csv, html or json.") var format: String = "json"
    @Option(name: .long, help: "Write the report to this file instead of standard output.") var out: String?
    @Flag(name: .long, help: "Export the event log as JSON Lines instead of a report.") var events = false
    @Flag(name: .long, help: "Include each sticker's mobile secret (json and csv; kept in the store, exported only when asked).") var includeSecrets = false

    func validate() throws {
        guard !store.isEmpty else { throw ValidationError("Name at least one --store PATH (the station's SQLite file).") }
        guard ["csv", "html", "json"].contains(format) else { throw ValidationError("--format '\(format)': use csv, html or json.") }
        if let since, Self.date(since) == nil { throw ValidationError("--since '\(since)': use YYYY-MM-DD or an ISO 8601 time such as 2026-11-27T08:00:00Z.") }
    }

    static func date(_ text: String) -> Date? {
        if let full = ISO8601DateFormatter().date(from: text) { return full }
        let day = DateFormatter()
        day.dateFormat = "yyyy-MM-dd"
        day.timeZone = TimeZone(identifier: "UTC")
        return day.date(from: text)
    }

    func run() async throws {
        var records: [ProvisioningRecord] = []
        var eventLines: [String] = []
        let filter = RecordFilter(since: since.flatMap(Self.date), stationID: station, operatorName: `operator`, includeSecrets: includeSecrets && format != "html")
        for path in store {
            guard FileManager.default.fileExists(atPath: path) else {
                print("FAIL: no station store at \(path); check the path (`station queue status --config` names it).")
                throw StationExitCode.ioError.exitCode
            }
            do {
                let opened = try StationStore(path: path)
                if events {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    encoder.dateEncodingStrategy = .iso8601
                    for event in try opened.events(since: filter.since) { eventLines.append(String(decoding: try encoder.encode(event), as: UTF8.self)) }
                } else {
                    records += try opened.records(filter)
                }
            } catch let error as StoreError {
                print("FAIL \(error)")
                throw StationExitCode.ioError.exitCode
            }
        }
        let text: String
        if events {
            text = eventLines.map { $0 + "\n" }.joined()
        } else {
            let report = LineReport(records: records)
            switch format {
            case "csv": text = report.csv(includeSecrets: includeSecrets)
            case "html": text = report.html(title: "Provisioning report: " + report.stations.joined(separator: ", "))
            default: text = try report.json() + "\n"
            }
        }
        if let out {
            do { try Data(text.utf8).write(to: URL(fileURLWithPath: out)) } catch {
                print("FAIL: cannot write \(out): \(error.localizedDescription)")
                throw StationExitCode.ioError.exitCode
            }
            print("report written to \(out)")
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}
