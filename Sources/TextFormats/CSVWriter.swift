/// RFC 4180 CSV, the one writer for every CSV the station writes: a field holding a comma,
/// a quote, CR or LF (looked for as Unicode scalars, so CR LF, one Swift `Character`, is
/// found too) is quoted with its quotes doubled; records end in CR LF.
public enum CSVWriter {
    public static func field(_ value: String) -> String {
        let needsQuotes = value.unicodeScalars.contains { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" }
        guard needsQuotes else { return value }
        // Scalar by scalar: a quote followed by a combining mark is one Character, and must
        // be doubled all the same.
        var quoted = String.UnicodeScalarView()
        quoted.append("\"")
        for scalar in value.unicodeScalars {
            quoted.append(scalar)
            if scalar == "\"" { quoted.append("\"") }
        }
        quoted.append("\"")
        return String(quoted)
    }

    public static func record(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + "\r\n"
    }

    public static func document(header: [String], rows: [[String]]) -> String {
        ([header] + rows).map(record).joined()
    }
}
