import Foundation
import StationConfig
import TestSupport
import Testing
import TextFormats

/// The shared line reader, CSV writer and TOML reader on the inputs that broke them
/// (issue 14), table-driven.
@Suite struct TextFormatsTests {
    @Test(arguments: [
        ("a\nb\n", ["a", "b"]), ("a\r\nb\r\n", ["a", "b"]), ("a\rb\r", ["a", "b"]), ("a\r\n\r\nb", ["a", "", "b"]),
        ("a\n\rb", ["a", "", "b"]), ("", []), ("\n", [""]), ("x", ["x"]), ("\r\n\r\n", ["", ""]), ("é\r\n中\r😀", ["é", "中", "😀"]),
    ])
    func linesEndInLFCRLFOrCR(text: String, lines: [String]) {
        #expect(TextLines.split(text) == lines)
    }

    @Test func aByteOrderMarkIsDropped() throws {
        #expect(try TextLines.read([0xEF, 0xBB, 0xBF] + Array("a\r\nb".utf8)) == ["a", "b"])
    }

    @Test(arguments: [
        ([0x61, 0x0A, 0x62, 0xFF], 2, 3), ([0x61, 0x0D, 0x0A, 0x62, 0x0D, 0xC3, 0x28], 3, 5),
        ([0xE0, 0x80, 0x80], 1, 0), ([0xED, 0xA0, 0x80], 1, 0), ([0xF4, 0x90, 0x80, 0x80], 1, 0), ([0x61, 0xE2, 0x82], 1, 1),
        ([0xEF, 0xBB, 0xBF, 0x0A, 0xC0, 0xAF], 2, 4),
    ] as [([UInt8], Int, Int)])
    func invalidUTF8IsReportedWithLineAndByteOffset(bytes: [UInt8], line: Int, offset: Int) {
        #expect(throws: TextDecodingError.self) { try TextLines.decode(bytes) }
        do { _ = try TextLines.decode(bytes) } catch {
            #expect(error.line == line && error.byteOffset == offset, "\(error)")
            #expect(error.description.contains("line \(line), byte offset \(offset)"))
        }
    }

    @Test func validUTF8OfEveryLengthDecodes() throws {
        let text = "a é 中 😀 \u{10FFFF} \u{FFFD}"
        #expect(try TextLines.decode(Array(text.utf8)) == text)
    }

    @Test func theLineAssemblerIsBounded() {
        var lines = LineAssembler(maximumLength: 8)
        #expect(lines.feed(Array("abc\r".utf8)) == [.init(text: "abc", truncated: false)])
        #expect(lines.feed(Array("\ndef".utf8)).isEmpty, "the LF of a CR LF split across reads ends no line")
        #expect(lines.feed([UInt8](repeating: 0x41, count: 100_000)).isEmpty && lines.partial.count == 8)
        #expect(lines.feed([0x0A]) == [.init(text: "defAAAAA", truncated: true)])
    }

    /// CSV fields holding CR LF (one Swift `Character`), CR, LF, quotes and commas, read back
    /// by Python's csv module (the oracle).
    @Test func csvRoundTripsThroughPython() async throws {
        let rows = [["plain", "a,b", "say \"hi\""], ["cr\rlf", "crlf\r\nend", "lf\nend"], ["", "é", "\u{1B}[31m"], ["quote\"\u{301}mark", "x", "y"]]
        let document = CSVWriter.document(header: ["x", "y", "z"], rows: rows)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("csv-\(UUID().uuidString).csv")
        try Data(document.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        python.arguments = ["-c", "import csv, json, sys; print(json.dumps(list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))))", file.path]
        let out = Pipe()
        python.standardOutput = out
        try python.run()
        let data = try await offThePool {
            let data = out.fileHandleForReading.readDataToEndOfFile()
            python.waitUntilExit()
            return data
        }
        let parsed = try JSONDecoder().decode([[String]].self, from: data)
        #expect(parsed == [["x", "y", "z"]] + rows)
    }

    /// Each of these aborted the process inside toml++ (SIGABRT, exit 134). Now: the line and
    /// column, and the file named.
    @Test(arguments: ["[", "[ ", "[[", "[.a]", "[a.]", "[]", "[[]]", "[a]]", "[[a]", "a = 1\n[\nb = 2", "[\r\n", "x = [\n[", "x = {"])
    func whatCrashedTOMLKitIsALineAndColumn(text: String) {
        do {
            _ = try TOMLFields.parse(text, file: "station.toml")
            Issue.record("parsed \(text.debugDescription)")
        } catch {
            #expect(error.file == "station.toml" && error.problem.hasPrefix("line ") && error.problem.contains("column"), "\(error)")
        }
    }

    @Test func errorsPointAtTheLineAndColumn() {
        #expect(throws: TOMLSyntaxError(line: 3, column: 1, reason: "table [a] is declared twice (or was already made by a dotted key or an inline table)")) {
            try TOMLReader.parse("[a]\nx = 1\n[a]\n")
        }
        do { _ = try TOMLReader.parse("name = \"é\" x\n") } catch {
            #expect(error.line == 1 && error.column == 12, "columns count characters: \(error)")
        }
    }

    @Test func nestingIsBounded() {
        let deep = "x = " + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
        #expect(throws: TOMLSyntaxError.self) { try TOMLReader.parse(deep) }
        let fine = "x = " + String(repeating: "[", count: 50) + String(repeating: "]", count: 50)
        #expect((try? TOMLReader.parse(fine)) != nil)
    }

    @Test func theWriterQuotesWhatTheReaderReadsBack() throws {
        for text in ["plain", "quote \" and \\ backslash", "tab\tnewline\ncr\r", "\u{1B}[2J\u{7F}\u{0}", "é 中 😀"] {
            let table = try TOMLReader.parse("k = \(TOMLWriter.quoted(text))\n")
            #expect(table["k"]?.string == text)
        }
    }

    /// A lab spec with `cloud_connect_delay = 1e300` trapped making a Duration (issue 14).
    @Test func aDurationPastTheBoundIsAnErrorNotATrap() throws {
        let table = try TOMLFields.parse("huge = 1e300\ninf = inf\nnan = nan\nbig = 9223372036854775807\nneg = -1\nok = 2.5\n", file: "lab.toml")
        let fields = try TOMLFields(table, path: "", file: "lab.toml", allowed: ["huge", "inf", "nan", "big", "neg", "ok"])
        for key in ["huge", "inf", "nan", "big", "neg"] {
            #expect(throws: ConfigFileError.self) { try fields.seconds(key) }
        }
        #expect(try fields.seconds("ok") == .milliseconds(2500))
    }

    /// Found in review: the bracket bound did not cover dotted keys, so a key of a million
    /// parts (a 2 MB file) exhausted the stack and 20,000 parts took gigabytes.
    @Test(arguments: [1_000_000, 20_000, 101])
    func aKeyOfManyPartsIsAnErrorNotACrash(parts: Int) {
        let key = Array(repeating: "a", count: parts).joined(separator: ".")
        for text in ["\(key) = 1\n", "[\(key)]\n", "[[\(key)]]\n", "x = { \(key) = 1 }\n"] {
            #expect(throws: TOMLSyntaxError.self) { try TOMLReader.parse(text) }
        }
        #expect((try? TOMLReader.parse(Array(repeating: "a", count: 99).joined(separator: ".") + " = 1\n")) != nil)
    }

    @Test func manyArrayOfTablesHeadersParse() throws {
        let table = try TOMLReader.parse(String(repeating: "[[a]]\nx = 1\n", count: 20_000))
        #expect(table["a"]?.array?.count == 20_000)
    }

    /// Keys that are canonically equivalent but spelled differently are two keys, as in
    /// tomllib (Swift's String equality would call them one, "defined twice").
    @Test func canonicallyEquivalentKeysAreDifferentKeys() throws {
        let table = try TOMLReader.parse("\"\u{E9}\" = 1\n\"e\u{301}\" = 2\n[\"\u{C5}\"]\nx = 1\n[\"A\u{30A}\"]\nx = 2\n")
        #expect(table.keys.count == 4)
        #expect(table["\u{E9}"]?.int == 1 && table["e\u{301}"]?.int == 2)
    }
}
