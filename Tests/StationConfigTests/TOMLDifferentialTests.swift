import Foundation
import TestSupport
import Testing
import TextFormats

/// Our TOML reader against Python's `tomllib` (the oracle) on generated documents, valid and
/// broken (`Oracle/toml_oracle.py`: a grammar for the valid ones, mutations and targeted
/// mistakes for the broken ones). Any disagreement fails: a wrong accept, a wrong reject or a
/// wrong value, not only a crash. Two deliberate differences: integers outside 64 bits are
/// an error (TOML 1.0 requires it; `tomllib` keeps any size), and the oracle says so; and
/// nesting (brackets, braces and key parts) past 100 levels is an error (no input exhausts
/// the stack), which the generator stays below. Needs python3 3.11 or later (`tomllib`).
@Suite struct TOMLDifferentialTests {
    static let oracle = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Oracle/toml_oracle.py")

    struct Verdict: Decodable {
        let file: String
        let ok: Bool
        let error: String?
    }

    @Test(arguments: [1, 7, 2026])
    func agreesWithTomllib(seed: Int) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("toml-diff-\(seed)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        python.arguments = [Self.oracle.path, "--seed", String(seed), "--count", "3000", folder.path]
        python.standardError = FileHandle.nullDevice
        try python.run()
        try await offThePool { python.waitUntilExit() }
        try #require(python.terminationStatus == 0, "the oracle did not run: python3 with tomllib (3.11 or later) is needed")
        let lines = try String(contentsOf: folder.appendingPathComponent("expected.jsonl"), encoding: .utf8).split(separator: "\n")
        try #require(lines.count == 3000)
        var accepted = 0, rejected = 0, disagreements: [String] = []
        for line in lines {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let verdict = try JSONDecoder().decode(Verdict.self, from: Data(line.utf8))
            let bytes = try Data(contentsOf: folder.appendingPathComponent(verdict.file))
            let ours: Result<TOMLTable, any Error>
            if let text = String(validating: bytes, as: UTF8.self) {
                do { ours = .success(try TOMLReader.parse(text)) } catch { ours = .failure(error) }
            } else {
                ours = .failure(TOMLSyntaxError(line: 0, column: 0, reason: "not UTF-8"))
            }
            let document = String(decoding: bytes, as: UTF8.self)
            switch (ours, verdict.ok) {
            case (.success(let table), true):
                accepted += 1
                if !Self.equal(Self.tagged(.table(table)), object["value"] as Any) {
                    disagreements.append("\(verdict.file): values differ\n--- document\n\(document)\n--- ours\n\(Self.tagged(.table(table)))\n--- tomllib\n\(object["value"] ?? "")")
                }
            case (.failure, false): rejected += 1
            case (.success, false): disagreements.append("\(verdict.file): we accept, tomllib rejects (\(verdict.error ?? ""))\n\(document)")
            case (.failure(let error), true): disagreements.append("\(verdict.file): we reject (\(error)), tomllib accepts\n\(document)")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) of 3000 disagree; first ones:\n\(disagreements.prefix(2).map { String($0.prefix(1500)) }.joined(separator: "\n=====\n"))")
        #expect(accepted > 1000 && rejected > 1000, "the mix: \(accepted) accepted, \(rejected) rejected")
    }

    /// toml-test's tagged JSON, as the oracle writes it.
    static func tagged(_ value: TOMLValue) -> Any {
        func scalar(_ type: String, _ text: String) -> [String: String] { ["type": type, "value": text] }
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        func date(_ d: TOMLDateTime) -> String { String(repeating: "0", count: max(0, 4 - String(d.year).count)) + "\(d.year)-\(two(d.month))-\(two(d.day))" }
        func time(_ d: TOMLDateTime) -> String {
            let micros = String(d.microsecond)
            return "\(two(d.hour)):\(two(d.minute)):\(two(d.second)).\(String(repeating: "0", count: 6 - micros.count))\(micros)"
        }
        switch value {
        case .string(let s): return scalar("string", s)
        case .integer(let i): return scalar("integer", String(i))
        case .float(let f): return scalar("float", f.isNaN ? "nan" : f.isInfinite ? (f < 0 ? "-inf" : "inf") : String(f))
        case .bool(let b): return scalar("bool", b ? "true" : "false")
        case .offsetDateTime(let d):
            let offset = d.offsetMinutes ?? 0
            return scalar("datetime", "\(date(d))T\(time(d))\(offset < 0 ? "-" : "+")\(two(abs(offset) / 60)):\(two(abs(offset) % 60))")
        case .localDateTime(let d): return scalar("datetime-local", "\(date(d))T\(time(d))")
        case .localDate(let d): return scalar("date-local", date(d))
        case .localTime(let d): return scalar("time-local", time(d))
        case .array(let items): return items.map(tagged)
        case .table(let table):
            var out: [String: Any] = [:]
            for key in table.keys { out[key] = tagged(table[key]!) }
            return out
        }
    }

    /// Structural equality; floats compared as numbers (the oracle writes Python's repr).
    static func equal(_ a: Any, _ b: Any) -> Bool {
        if let x = a as? [String: String], let y = b as? [String: String], x["type"] == "float", y["type"] == "float" {
            guard let p = x["value"].flatMap(Double.init), let q = y["value"].flatMap(Double.init) else { return false }
            return p == q || (p.isNaN && q.isNaN)
        }
        if let x = a as? [String: String], let y = b as? [String: Any], y["type"] is String, y.count == 2 {
            return x == (y as? [String: String] ?? [:])
        }
        if let x = a as? [String: Any], let y = b as? [String: Any] {
            return x.count == y.count && x.allSatisfy { key, value in y[key].map { equal(value, $0) } ?? false }
        }
        if let x = a as? [Any], let y = b as? [Any] {
            return x.count == y.count && zip(x, y).allSatisfy { equal($0, $1) }
        }
        return false
    }
}
