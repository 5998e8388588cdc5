import ParticleDevices

/// One line the technician's side of the bench produced: a command typed at the station's
/// terminal, or a sticker a barcode scanner read. Everything that reaches the bench is one
/// of these; a line that is neither is refused with a message that says so. Pure.
public enum BenchInput: Hashable, Sendable {
    /// `q`: quit once the devices being written finish.
    case quit
    /// `r SLOT`: re-run the failed device in SLOT.
    case retry(slot: String)
    /// `d SLOT`: show the full reason of SLOT's failure in the detail area.
    case details(slot: String)
    /// `help`: what each key does.
    case help
    /// A serial-number (or IMEI) sticker.
    case sticker(StickerCode)
    /// Neither a sticker nor a command; the message says why and what to do.
    case refused(String)

    /// What a keyboard scanner's line starts with when the kernel dropped some of its keys
    /// (the adapter marks it; no key types it).
    public static let lostKeys = "\u{1A}"

    /// The longest line read as a key or a sticker: a Data Matrix sticker is under 100.
    public static let maximumLine = 512

    /// The command line the screen always shows.
    public static let commandLine = "keys: r SLOT re-run a FAIL | d SLOT show its reason | q quit | help"

    /// What `help` prints: one line per key.
    public static let helpLines = [
        "scan a device's serial-number sticker to pair it (Gen 3: serial + mobile secret; Gen 2: serial; u-blox Electron: IMEI)",
        "r SLOT   re-run the failed device in SLOT (e.g. r A1), after fixing what its row says",
        "d SLOT   show the whole reason of SLOT's failure below the slots",
        "q        quit once the devices being written finish",
    ]

    /// Classifies one line. `stickers`: whether this source may carry stickers (a
    /// keyboard-wedge scanner types into the terminal; a terminal without one carries only
    /// commands). `prefix`/`suffix`: what the scanner is set to add around each code.
    /// `commands`: whether this source may carry keys (a scanner of its own carries only
    /// stickers).
    public static func parse(_ line: String, stickers: Bool = true, commands: Bool = true, preferred: StickerCode.Key = .serialNumber, prefix: String = "",
                             suffix: String = "") -> BenchInput {
        if line.hasPrefix(lostKeys) {
            return .refused("some keys of that scan were lost (the station read the scanner too slowly); scan the sticker again")
        }
        guard line.utf8.count <= maximumLine else {
            return .refused("a line of \(line.utf8.count) bytes is longer than any sticker or key (at most \(maximumLine)): check the scanner's settings, then scan again")
        }
        // `isWhitespace`, not a list of characters: CR LF is one Character in Swift.
        let words = line.split(whereSeparator: \.isWhitespace).map(String.init)
        if commands, let first = words.first?.lowercased(), let command = command(first, words.dropFirst().map { $0 }) { return command }
        let shown = shownForm(line)
        guard stickers else {
            return .refused("'\(shown)' is not a command (\(Self.commandLine.dropFirst(6))); stickers come from the scanner")
        }
        do {
            return .sticker(try StickerCode.parseAny(line, preferred: preferred, prefix: prefix, suffix: suffix))
        } catch {
            return .refused("'\(shown)' is neither a sticker nor a command: \(error.description) Type help for the keys")
        }
    }

    static func command(_ word: String, _ rest: [String]) -> BenchInput? {
        switch word {
        case "q", "quit":
            return rest.isEmpty ? .quit : .refused("q takes nothing after it: type q and Enter to quit")
        case "help", "?", "h":
            return .help
        case "r", "retry":
            guard rest.count == 1 else { return .refused("r needs one slot: r SLOT, e.g. r A1 (the slot is the first column)") }
            return .retry(slot: rest[0])
        case "d", "details":
            guard rest.count == 1 else { return .refused("d needs one slot: d SLOT, e.g. d A1 (the slot is the first column)") }
            return .details(slot: rest[0])
        default:
            return nil
        }
    }

    /// How a refused line is echoed: its first word only (a mistyped sticker's second field
    /// may be the mobile secret), printable ASCII only (no terminal escapes), at most 20
    /// characters.
    static func shownForm(_ line: String) -> String {
        let first = line.split(whereSeparator: \.isWhitespace).first.map(String.init) ?? ""
        let printable = String(first.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7F }.map(Character.init))
        let cut = printable.count > 20 ? String(printable.prefix(19)) + "~" : printable
        return line.split(whereSeparator: \.isWhitespace).count > 1 ? cut + " ..." : cut
    }
}
