import ArgumentParser
import Foundation
import Station
import StationReports
import StationStore

/// `station report [--store PATH ...] [--since ...] [--station ...] [--operator ...] --format csv|html|json`
struct ReportCommand: AsyncParsableCommand, JSONOutputCommand {
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
    @Option(name: .long, help: "A station config: its store (when no --store is named) and its [store] group for the written file.", completion: .file())
    var config: String?
    @Option(name: .long, help: "Only attempts finished at or after this time (YYYY-MM-DD or ISO 8601).") var since: String?
    @Option(name: .long, help: "Only attempts finished before this time (YYYY-MM-DD: before that day starts, UTC; or ISO 8601).") var until: String?
    @Option(name: .long, help: "Only this station's attempts.") var station: String?
    @Option(name: .long, help: "Only this operator's attempts.") var `operator`: String?
    @Option(name: .long, help: "csv, html or json.") var format: ReportFormat = .json
    @Option(name: .long, help: "Write the report to this file (owner-only, or 0640 with the config's [store] group) instead of standard output.") var out: String?
    @Flag(name: .long, help: "Export the event log as JSON Lines instead of a report.") var events = false
    @Flag(name: .long, help: "Include each sticker's mobile secret (json and csv; kept in the store, exported only when asked).") var includeSecrets = false

    func validate() throws {
        guard !store.isEmpty || config != nil else { throw ValidationError("Name at least one --store PATH (the station's SQLite file), or the station with --config FILE.") }
        for (name, value) in [("--since", since), ("--until", until)] {
            if let value, Self.date(value) == nil { throw ValidationError("\(name) '\(value)': use YYYY-MM-DD or an ISO 8601 time such as 2026-11-27T08:00:00Z.") }
        }
        if let since = since.flatMap(Self.date), let until = until.flatMap(Self.date), until <= since {
            throw ValidationError("--until must be later than --since.")
        }
    }

    var printsJSON: Bool { format == .json && out == nil && !events }

    /// The failure table's meaning and next step for a code.
    static func explain(_ code: String) -> FailureExplanation? {
        FailureTable.entry(for: code).map { FailureExplanation(meaning: $0.meaning, next: $0.next.short) }
    }

    static func date(_ text: String) -> Date? {
        if let full = ISO8601DateFormatter().date(from: text) { return full }
        let day = DateFormatter()
        day.dateFormat = "yyyy-MM-dd"
        day.timeZone = TimeZone(identifier: "UTC")
        return day.date(from: text)
    }

    func run() async throws {
        let stationConfig = try config.map { path throws(CommandFailure) in try ConfigFiles.stationConfig(path) }
        let paths = store.isEmpty ? stationConfig.map { [$0.storeLocation(environment: ProcessInfo.processInfo.environment)] } ?? [] : store
        var records: [ProvisioningRecord] = []
        var eventLines: [String] = []
        let filter = RecordFilter(since: since.flatMap(Self.date), until: until.flatMap(Self.date), stationID: station, operatorName: `operator`,
                                  includeSecrets: includeSecrets && format != .html)
        for path in paths {
            let opened: StationStore
            do { opened = try StationStore(path: path, create: false) } catch { throw CommandFailure.from(error)! }
            printError("store: \(path)")
            do {
                if events {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.sortedKeys]
                    encoder.dateEncodingStrategy = .iso8601
                    for event in try opened.events(since: filter.since, until: filter.until) { eventLines.append(String(decoding: try encoder.encode(event), as: UTF8.self)) }
                } else {
                    records += try opened.records(filter)
                }
            } catch {
                throw CommandFailure.from(error)!
            }
        }
        let text: String
        if events {
            text = eventLines.map { $0 + "\n" }.joined()
        } else {
            let report = LineReport(records: records, since: filter.since, until: filter.until, explain: Self.explain)
            switch format {
            case .csv: text = report.csv(includeSecrets: includeSecrets)
            case .html: text = report.html(title: "Provisioning report: " + report.stations.joined(separator: ", "))
            case .json: text = try report.json() + "\n"
            }
        }
        if let out {
            do { try PrivateFile.write(Data(text.utf8), to: out, group: stationConfig?.storeGroup) } catch {
                throw CommandFailure.unwritable(out, detail: error.detail)
            }
            print("report written to \(out)")
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}

/// `station report --format`.
enum ReportFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case csv, html, json
}
