import ArgumentParser
import Foundation
import Station

/// `station codes [CODE] [--json | --markdown]`: the one table of failure codes, what each
/// means and what the technician does next (the screen, the plain lines and the docs use it).
struct CodesCommand: AsyncParsableCommand, JSONOutputCommand {
    var printsJSON: Bool { json }
    static let configuration = CommandConfiguration(
        commandName: "codes", abstract: "List the failure codes: what each means and what to do next.",
        discussion: """
            Every code the station shows has one of five next steps: replug and retry, set aside \
            for rework, route to online rework (a protected unit), find the right sticker, call the \
            line lead. A code with a * stands for a \
            family (DFU-*-STALL: a STALL in any DFU step). Give a CODE to see just that one. \
            --markdown prints the table stations/failure-codes.md holds.
            """)

    @Argument(help: "One code to look up (e.g. PAIR-MISMATCH).") var code: String?
    @Flag(name: .long, help: "Print JSON: an array of {code, meaning, next}.") var json = false
    @Flag(name: .long, help: "Print the Markdown table.") var markdown = false

    func run() async throws {
        var entries = FailureTable.entries
        if let code {
            guard let entry = FailureTable.entry(for: code.uppercased()) else {
                FileHandle.standardError.write(Data("station codes: \(code) is not a failure code the station shows; `station codes` lists them all.\n".utf8))
                throw StationExitCode.failed.exitCode
            }
            entries = [entry]
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(entries), as: UTF8.self))
        } else if markdown {
            print(FailureTable.markdown, terminator: "")
        } else {
            for entry in entries { print("\(entry.code)\n  \(entry.meaning)\n  next: \(entry.next.short): \(entry.next.instruction)") }
        }
    }
}
