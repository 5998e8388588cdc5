import ControlRequests
import DFU
import Seams

/// What the technician does next about a failure: one of five things.
public enum NextStep: String, Sendable, Hashable, CaseIterable, Codable {
    case replugAndRetry = "replug-and-retry"
    case setAsideForRework = "set-aside-for-rework"
    /// A protected unit (Device Protection): only a bench online with the cloud can open it.
    case routeToOnlineRework = "route-to-online-rework"
    case findTheRightSticker = "find-the-right-sticker"
    case callTheLineLead = "call-the-line-lead"

    /// Short, for a screen row (at most 22 characters): "replug and retry", "set aside for rework", "find the right sticker", "call the line lead".
    public var short: String {
        switch self {
        case .replugAndRetry: "replug and retry"
        case .setAsideForRework: "set aside for rework"
        case .routeToOnlineRework: "route to online rework"
        case .findTheRightSticker: "find the right sticker"
        case .callTheLineLead: "call the line lead"
        }
    }

    /// One sentence for the detail area and docs.
    public var instruction: String {
        switch self {
        case .replugAndRetry:
            "Unplug the device, check its cable and hub port, and plug it back in: the station runs it again from the start."
        case .setAsideForRework:
            "Unplug the device, label it with the failure code and put it in the rework tray; do not ship it."
        case .routeToOnlineRework:
            "Protected: rework needs Service Mode, which needs the cloud; route to the online rework bench. Unplug it and take it there; this bench never writes it, and it is not a fault of the bench."
        case .findTheRightSticker:
            "Find the serial-number sticker that belongs to this device, type r SLOT to re-run it, then scan that sticker when its row asks for it."
        case .callTheLineLead:
            "Leave the device where it is and call the line lead: the station, its setup or the firmware needs fixing, not the device."
        }
    }
}

/// One failure code: its meaning and the one thing to do next.
public struct FailureCodeEntry: Sendable, Hashable, Codable {
    /// The exact code, or a family pattern with one "*" (e.g. "DFU-*-STALL").
    public let code: String
    /// One short sentence, in plain words for a technician.
    public let meaning: String
    public let next: NextStep
}

/// The one table of failure codes: every code the station can show a technician (job
/// failures, guard failures, command-line `FAIL [CODE]` lines, import outcomes), what it
/// means and the one thing to do next. The bench screen, plain log lines and the docs all
/// read it from here.
public enum FailureTable {
    /// Every entry, exact codes first, sorted by code.
    public static let entries: [FailureCodeEntry] = {
        let exact = all.filter { !isPattern($0.code) }.sorted { $0.code < $1.code }
        let families = all.filter { isPattern($0.code) }.sorted { $0.code < $1.code }
        return exact + families
    }()

    /// The entry for a code: exact match first, then the family pattern that matches (the "*" stands for one or more characters), else nil.
    public static func entry(for code: String) -> FailureCodeEntry? {
        if let found = exact[code] { return found }
        return families.first { matches(code, pattern: $0.code) }
    }

    /// Every code the code base can produce that is built at run time from enums (DFU steps x DFU error kinds, CTRL-<control result>), expanded, for the completeness test.
    public static var generatedCodes: [String] {
        var codes = Set<String>()
        // DFU-<STEP>-<KIND>, from `DFUError.code` itself.
        for step in dfuSteps {
            for kind in dfuKinds {
                codes.insert(DFUError(operation: step, kind: kind, device: "", alt: 0).code)
            }
        }
        // CTRL-<result name, "_" as "-">, as `ControlRequestError.code` builds it for
        // `.result` (ControlRequestError has no public initialiser to call here).
        for raw in controlResultRawValues {
            codes.insert("CTRL-" + String(ControlResult(rawValue: raw).name.map { $0 == "_" ? "-" : $0 }))
        }
        // USB-<libusb error name>, as `LibUSBError.code` builds it (the LibUSB adapter is not
        // a dependency of this module).
        for name in libusbErrorNames {
            codes.insert("USB-" + String(name.map { $0 == "_" ? "-" : $0 }))
        }
        return codes.sorted()
    }

    /// The next steps, then the codes (| code | meaning | what to do |), as Markdown, for
    /// the docs.
    public static var markdown: String {
        func cell(_ text: String) -> String { String(text.flatMap { $0 == "|" ? ["\\", "|"] : [$0] }) }
        var lines = ["| next step | what the technician does |", "|---|---|"]
        for next in NextStep.allCases { lines.append("| \(next.short) | \(cell(next.instruction)) |") }
        lines += ["", "| code | meaning | what to do |", "|---|---|---|"]
        for entry in entries {
            lines.append("| `\(entry.code)` | \(cell(entry.meaning)) | \(entry.next.short) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: Lookup

    static let exact: [String: FailureCodeEntry] = Dictionary(
        entries.filter { !isPattern($0.code) }.map { ($0.code, $0) }, uniquingKeysWith: { first, _ in first })

    /// Family patterns, most specific (longest fixed text) first, so a code that two
    /// families would match gets the narrower one.
    static let families: [FailureCodeEntry] = entries.filter { isPattern($0.code) }.sorted {
        ($0.code.count, $1.code) > ($1.code.count, $0.code)
    }

    static func isPattern(_ code: String) -> Bool { code.contains("*") }

    /// Whether `code` fits `pattern`: the text before the "*" starts it, the text after ends
    /// it, and at least one character stands between.
    static func matches(_ code: String, pattern: String) -> Bool {
        let parts = pattern.split(separator: "*", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return code == pattern }
        let head = String(parts[0]), tail = String(parts[1])
        return code.count > head.count + tail.count && code.hasPrefix(head) && code.hasSuffix(tail)
    }

    // MARK: The run-time families, expanded

    /// The `operation` strings the code base gives `DFUError` (DfuSeSession, DFUDeviceInfo,
    /// FlashExecutor). They are plain strings, not an enum, so they are listed by hand.
    /// Left out: `"verify \(step.name)"` (FlashExecutor's read-back check), whose step name is
    /// a firmware file name; its codes (`DFU-VERIFY <FILE>-VERIFY`) fit `DFU-*-VERIFY`.
    static let dfuSteps = [
        "descriptors", "get-status", "reset-state", "abort", "set-address", "erase", "write", "read",
        "get-commands", "command", "safe-mode", "leave", "cancel",
    ]

    /// Every `DFUError.Kind`. Kind is not CaseIterable, and neither are `USBTransferError`
    /// nor `DFUStatusCode` (a struct over a byte), so they are listed by hand. Statuses: the
    /// fifteen documented error statuses; OK is never thrown (both throw sites check for it),
    /// and an undocumented status byte gives `DFU-<STEP>-STATUS 0X..`, which no pattern with
    /// one "*" can cover.
    static var dfuKinds: [DFUError.Kind] {
        let transfers: [USBTransferError] = [.stall, .timeout, .noDevice, .overflow, .io(call: "", code: 0), .replayMismatch("")]
        let statuses: [DFUStatusCode] = [
            .errTarget, .errFile, .errWrite, .errErase, .errCheckErased, .errProg, .errVerify, .errAddress, .errNotDone,
            .errFirmware, .errVendor, .errUSBReset, .errPOR, .errUnknown, .errStalledPacket,
        ]
        return transfers.map { DFUError.Kind.transfer($0) } + statuses.map { DFUError.Kind.status($0) } + [
            .unexpectedState(expected: ""), .busyTimeout, .malformedStatus(length: 0), .notInLayout(reason: ""),
            .verifyMismatch(expected: 0, found: 0), .cancelled, .unsupportedCommand(0),
        ]
    }

    /// `ControlResult` is a struct over Int32 and its name table is internal to
    /// ControlRequests, so the documented failing results are listed by hand (OK is never
    /// thrown), plus one undocumented value for the `UNKNOWN(<code>)` family.
    static let controlResultRawValues: [Int32] = [
        -100, -110, -120, -130, -140, -150, -160, -170, -180, -190, -200, -210, -220, -230, -240, -250, -260, -270, -280,
        -290, -1801, -1,
    ]

    /// libusb's error names (`libusb_error_name` of each negative `libusb_error`), listed by
    /// hand: the C enum is not reachable from this module.
    static let libusbErrorNames = [
        "IO", "INVALID_PARAM", "ACCESS", "NO_DEVICE", "NOT_FOUND", "BUSY", "TIMEOUT", "OVERFLOW", "PIPE", "INTERRUPTED",
        "NO_MEM", "NOT_SUPPORTED", "OTHER",
    ]
}
