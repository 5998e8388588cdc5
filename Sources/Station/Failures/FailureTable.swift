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

    // MARK: The table

    static func e(_ code: String, _ meaning: String, _ next: NextStep) -> FailureCodeEntry {
        FailureCodeEntry(code: code, meaning: meaning, next: next)
    }

    static let all: [FailureCodeEntry] = [
        // Bundled data and the station store.
        e("CATALOG-INVALID", "A data file built into the station software does not decode: a build defect.", .callTheLineLead),
        // One-word codes of plain `FAIL [..]` lines (BenchDriver notes, `station queue`).
        e("CONFIG", "The station's config file cannot be read or is not valid.", .callTheLineLead),
        e("CREDENTIALS", "The station's credentials file cannot be read, is not valid, or lacks a token it needs.", .callTheLineLead),
        e("STORE", "The station could not read or write its store (saved jobs, records or the import queue).", .callTheLineLead),
        e("STORE-DATABASE", "The station's store (its database) failed.", .callTheLineLead),
        e("STORE-OPEN", "The station's store could not be opened.", .callTheLineLead),
        e("UDEV-FAILED", "The station cannot read the udev device database.", .callTheLineLead),

        // Command-line failures (`FAIL [CODE]` on standard error, or `{"error": ...}` under --json).
        e("BENCHMARK-NO-POSTGRES", "The line database benchmark found no PostgreSQL to run (Debian's postgresql package, exit 69).", .callTheLineLead),
        e("CONFIG-INVALID", "The station's config file is not valid; the message names the key.", .callTheLineLead),
        e("CREDENTIALS-INVALID", "The credentials or token file is not valid, not owner-only, or lacks a token it needs.", .callTheLineLead),
        e("CREDENTIALS-UNREADABLE", "The credentials file the config names cannot be read.", .callTheLineLead),
        e("DASHBOARD-LISTEN", "`station line serve --listen` is not HOST:PORT.", .callTheLineLead),
        e("DASHBOARD-SOURCE", "The dashboard could not read its records (store or line database), for a reason with no code of its own.", .callTheLineLead),
        e("DASHBOARD-TOKEN-FILE", "The dashboard's viewer token file is unreadable, readable by others, or not one line of 16+ characters.", .callTheLineLead),
        e("DASHBOARD-TOKEN-REQUIRED", "The dashboard was asked to listen off loopback without a viewer token; give --viewer-token-file.", .callTheLineLead),
        e("FILE-MISSING", "A file the command was given does not exist (exit 74).", .callTheLineLead),
        e("FILE-UNREADABLE", "A file the command was given cannot be read: permissions, or a folder where a file belongs (exit 74).", .callTheLineLead),
        e("FILE-UNWRITABLE", "The command cannot write the file it was asked to (exit 74).", .callTheLineLead),
        e("FILE-NOT-TEXT", "A text file the command was given is not UTF-8 text; the message gives the line and byte offset (exit 65).", .callTheLineLead),
        e("FILE-TOO-LARGE", "A file the command was given is larger than any file of its kind can be: the wrong file (exit 65).", .callTheLineLead),
        e("FILE-IO", "Reading or writing a file failed (exit 74).", .callTheLineLead),
        e("INTERNAL", "An internal error in the station software (exit 70): report it with the output.", .callTheLineLead),
        e("USAGE", "The command line is wrong (exit 64); the usage of the command follows the message.", .callTheLineLead),
        e("STORE-MISSING", "No station store at the path named; a command that only reads never creates one (exit 74).", .callTheLineLead),
        e("QUEUE-BLOCKED", "The import queue cannot go on until a person fixes the cause the message names.", .callTheLineLead),
        e("QUEUE-GAVE-UP", "The sync gave up after --give-up-after seconds of failures; the devices stay queued.", .callTheLineLead),
        e("QUEUE-LEASE-HELD", "Another station process is syncing this store; nothing was done.", .callTheLineLead),
        e("QUEUE-NO-DEVICE", "The device named is not in this store's import queue.", .callTheLineLead),
        e("MANIFEST-INVALID", "The manifest file is not valid TOML or lacks a key it needs; the message names it.", .callTheLineLead),
        e("MANIFEST-NO-MODULES", "The folder given to `station manifest create` holds no .bin module files.", .callTheLineLead),
        e("USB-UNAVAILABLE", "The station cannot open the USB bus (libusb); see `station doctor`.", .callTheLineLead),
        e("DEVICE-NOT-FOUND", "No Particle device matches the port or device ID named; `station devices` lists what is attached.", .replugAndRetry),
        e("DEVICE-AMBIGUOUS", "Several devices match; name one with --port.", .callTheLineLead),
        e("DEVICE-NOT-IN-DFU", "The device is in normal mode where the command needs DFU mode.", .replugAndRetry),
        e("DEVICE-UNKNOWN-PLATFORM", "The USB product ID is not a platform the station knows.", .setAsideForRework),
        e("DEVICE-NO-TTY", "The device has no serial port (tty) for the command.", .replugAndRetry),
        e("DFU-NO-LAYOUT", "The device in DFU mode did not report its memory layout.", .replugAndRetry),
        e("ENTER-DFU-TIMEOUT", "The device did not come back in DFU mode in time.", .replugAndRetry),
        e("TRAY-INVALID", "A tray or reel file has bad lines; nothing was queued from it.", .callTheLineLead),

        // The Particle cloud (imports, the test account).
        e("CLOUD-BAD-REQUEST", "The Particle cloud refused a request as sent (for example the plan's device limit).", .callTheLineLead),
        e("CLOUD-FORBIDDEN", "The station's cloud token may not do this (a missing scope, or another owner's device).", .callTheLineLead),
        e("CLOUD-MALFORMED", "The Particle cloud's answer was not what its API documents.", .callTheLineLead),
        e("CLOUD-NETWORK", "The station could not reach the Particle cloud (network, DNS, TLS or timeout).", .callTheLineLead),
        e("CLOUD-NOT-FOUND", "The cloud has no such product, device or SIM, or the station's token cannot see it.", .callTheLineLead),
        e("CLOUD-RATE-LIMITED", "The Particle cloud asked the station to slow down; it retries later by itself.", .callTheLineLead),
        e("CLOUD-TOKEN-INVALID", "The cloud refused the station's token (invalid or expired); syncing stopped.", .callTheLineLead),
        e("CLOUD-HTTP-*", "The Particle cloud answered with an HTTP status the station does not expect.", .callTheLineLead),
        e("CLOUD-SERVER-*", "The Particle cloud had a server error (5xx); the station retries by itself.", .callTheLineLead),
        e("CURL-*", "A call into libcurl, the station's HTTP library, failed.", .callTheLineLead),

        // The connectivity line's test.
        e("CONNECTIVITY-ACTIVATION", "The test account could not take the device or activate its SIM.", .callTheLineLead),
        e("CONNECTIVITY-ACTIVATION-TIMEOUT", "The device's SIM was not activated under the test account in time.", .callTheLineLead),
        e("CONNECTIVITY-FINAL-STATE", "The device came online but could not be put back in its final mode afterwards.", .replugAndRetry),
        e("CONNECTIVITY-NOT-QUEUED", "The device is not in the import queue, so its SIM cannot be activated for the test.", .replugAndRetry),
        e("CONNECTIVITY-STORE", "The station could not read or update its import queue.", .callTheLineLead),
        e("CONNECTIVITY-TIMEOUT", "The test account did not see the device online in time (check antenna, SIM and signal).", .replugAndRetry),
        e("CONNECTIVITY-UNAVAILABLE", "The station has no test-account access to watch the device come online.", .callTheLineLead),
        e("CONNECTIVITY-UNREACHABLE", "The device could not be reached over USB to let it connect for the test.", .replugAndRetry),

        // The listening-mode serial console.
        e("CONSOLE-IO", "Reading or writing the device's serial console failed (it may have left the bus).", .replugAndRetry),
        e("CONSOLE-TOO-LONG", "The device's serial console sent more than any answer (64 KiB): not a Particle console, or it never stops.", .replugAndRetry),
        e("CONSOLE-NO-ANSWER", "The device's serial console did not answer (the device is not in listening mode).", .replugAndRetry),
        e("CONSOLE-UNRECOGNISED", "The device's serial console answered with something the station cannot read.", .callTheLineLead),

        // Control requests (normal mode): the channel's own codes, and CTRL-<result>.
        e("CTRL-ABORTED", "The device aborted a control request.", .replugAndRetry),
        e("CTRL-ALREADY-EXISTS", "The device refused a control request because what it creates already exists.", .callTheLineLead),
        e("CTRL-BAD-DATA", "The device rejected the data of a control request (for example a firmware update).", .replugAndRetry),
        e("CTRL-BUSY", "The device is busy with other control requests.", .replugAndRetry),
        e("CTRL-CANCELLED", "The device cancelled a control request.", .replugAndRetry),
        e("CTRL-DECODE", "The device's reply to a control request could not be decoded.", .callTheLineLead),
        e("CTRL-DEVICE-PROTECTED", "Protected unit (Device Protection): the device refuses the control request.", .routeToOnlineRework),
        e("CTRL-ERROR", "The device answered a control request with a generic error.", .replugAndRetry),
        e("CTRL-INTERNAL", "The device reported an internal error for a control request.", .replugAndRetry),
        e("CTRL-INVALID-ARGUMENT", "The device refused the arguments of a control request.", .callTheLineLead),
        e("CTRL-INVALID-STATE", "The device cannot do a control request in its current state.", .replugAndRetry),
        e("CTRL-IO", "The device reported an internal I/O error (its flash or storage) for a control request.", .setAsideForRework),
        e("CTRL-LIMIT-EXCEEDED", "The device refused a control request: a limit on the device was exceeded.", .replugAndRetry),
        e("CTRL-MALFORMED", "The device's reply to a control request was not understood.", .replugAndRetry),
        e("CTRL-NETWORK", "The device reported a network error for a control request.", .replugAndRetry),
        e("CTRL-NO-MEMORY", "The device has no memory free for a control request.", .replugAndRetry),
        e("CTRL-NOT-ALLOWED", "The device does not allow a control request now.", .replugAndRetry),
        e("CTRL-NOT-FOUND", "The device dropped a control request (it may have reset).", .replugAndRetry),
        e("CTRL-NOT-SUPPORTED", "The Device OS on the device does not support a control request the station needs.", .callTheLineLead),
        e("CTRL-OUT-OF-RANGE", "The device refused a control request: a value is out of range.", .callTheLineLead),
        e("CTRL-PROTOCOL", "The device reported a protocol error for a control request.", .replugAndRetry),
        e("CTRL-TIMEOUT", "The device did not finish a control request in time (it may be hung).", .replugAndRetry),
        e("CTRL-TOO-LARGE", "A control request was too large for the device (for example a firmware image).", .callTheLineLead),
        e("CTRL-USB", "The USB transfer of a control request failed (cable or hub).", .replugAndRetry),
        e("CTRL-USB-GONE", "The device left the bus during a control request (unplugged, or it reset).", .replugAndRetry),
        e("CTRL-USB-STALL", "The device refused a control request (STALL): a device fault, not an unplug.", .replugAndRetry),
        e("CTRL-USB-TIMEOUT", "The device did not answer a control request in time: a device fault, not an unplug.", .replugAndRetry),
        e("CTRL-UNKNOWN(*)", "The device answered a control request with an undocumented result code.", .callTheLineLead),

        // DFU mode: DFU-<STEP>-<KIND>, with exact codes where the step changes what to do.
        e("DFU-CANCELLED", "A DFU operation was cancelled; the device was sent back to DFU idle.", .replugAndRetry),
        e("DFU-DESCRIPTORS-ADDRESS", "The device's USB descriptors in DFU mode are malformed.", .setAsideForRework),
        e("DFU-LAYOUT", "The DFU memory layout the device's bootloader reports does not parse.", .setAsideForRework),
        e("DFU-*-ADDRESS", "A DFU address is outside the memory the device allows (layout or firmware mismatch).", .callTheLineLead),
        e("DFU-*-BAD-STATUS", "The device's DFU status reply had the wrong length.", .replugAndRetry),
        e("DFU-*-ERRADDRESS", "The device says a DFU address is outside its memory.", .replugAndRetry),
        e("DFU-*-ERRCHECK_ERASED", "The device's flash did not read back as erased.", .setAsideForRework),
        e("DFU-*-ERRERASE", "The device could not erase its flash.", .setAsideForRework),
        e("DFU-*-ERRFILE", "The device says the firmware failed its checks.", .replugAndRetry),
        e("DFU-*-ERRFIRMWARE", "The device says its firmware is corrupt, so it cannot leave DFU mode.", .setAsideForRework),
        e("DFU-*-ERRNOTDONE", "The device expected more DFU data (a transfer was cut short).", .replugAndRetry),
        e("DFU-*-ERRPOR", "The device had an unexpected power-on reset in DFU mode.", .replugAndRetry),
        e("DFU-*-ERRPROG", "Programming the device's flash failed.", .setAsideForRework),
        e("DFU-*-ERRSTALLEDPKT", "The device's bootloader refused a DFU request it does not support.", .setAsideForRework),
        e("DFU-*-ERRTARGET", "The bootloader says the address or command is not supported by this memory.", .replugAndRetry),
        e("DFU-*-ERRUNKNOWN", "The device reported an unknown DFU error.", .replugAndRetry),
        e("DFU-*-ERRUSBR", "The device had an unexpected USB reset in DFU mode.", .replugAndRetry),
        e("DFU-*-ERRVENDOR", "Read or write protection is on for the device's memory (it may be a protected unit).", .setAsideForRework),
        e("DFU-*-ERRVERIFY", "The device says its programmed flash did not verify.", .setAsideForRework),
        e("DFU-*-ERRWRITE", "The device could not write its flash.", .setAsideForRework),
        e("DFU-*-IO", "A USB transfer failed in a DFU step (cable, hub or port).", .replugAndRetry),
        e("DFU-*-NO-DEVICE", "The device left USB in a DFU step (unplugged or reset).", .replugAndRetry),
        e("DFU-*-OVERFLOW", "The device sent more data than asked for in a DFU step.", .replugAndRetry),
        e("DFU-*-REPLAY-MISMATCH", "A replayed USB recording does not hold this DFU request (lab and tests only).", .callTheLineLead),
        e("DFU-*", "A DFU step failed with a status the station does not know (the device's bootloader is unusual).", .replugAndRetry),
        e("DFU-*-STALL", "The device refused a DFU request (STALL); a second STALL after a replug means rework.", .replugAndRetry),
        e("DFU-*-STATE", "The device was not in the DFU state the step needs.", .replugAndRetry),
        e("DFU-*-TIMEOUT", "The device did not answer, or stayed busy too long, in a DFU step.", .replugAndRetry),
        e("DFU-*-UNSUPPORTED", "The device's bootloader lacks a DfuSe command the station needs (it is too old).", .setAsideForRework),
        e("DFU-*-VERIFY", "The flash read back different bytes than were written: the write did not take.", .setAsideForRework),

        // The pipeline: identify, pair, flash, finish.
        e("FINISH-FAILED", "The device could not be left in its final mode (listening or DFU) after flashing.", .replugAndRetry),
        e("FLASH-DFU-LEAVE", "The device did not leave DFU mode after its DFU writes.", .replugAndRetry),
        e("FLASH-DFU-SWITCH", "The device did not come back after a switch between normal and DFU mode.", .replugAndRetry),
        e("FLASH-FAILED", "Flashing stopped on an error the station does not expect.", .callTheLineLead),
        e("FLASH-NOT-BOOTABLE", "After its DFU writes the device came back in DFU mode: its firmware does not start.", .setAsideForRework),
        e("FLASH-UNREACHABLE", "The device did not answer when the flash step started.", .replugAndRetry),
        e("GUARD-PROTECTED", "Protected unit (Device Protection): it refuses listening mode, so the guard cannot keep it off the cloud.", .routeToOnlineRework),
        e("GUARD-UNREACHABLE", "The no-cloud guard could not reach the device over USB; it may connect to the cloud.", .replugAndRetry),
        e("IDENTIFY-DFU", "Reading the device in DFU mode failed while identifying it.", .replugAndRetry),
        e("IDENTIFY-INVALID", "The device reported a serial number, ICCID or IMEI that is not valid (length or check digit).", .setAsideForRework),
        e("IDENTIFY-INCOMPLETE", "The device could not be identified (no device ID, or no Device OS version or modules).", .replugAndRetry),
        e("IDENTIFY-PLATFORM", "The device's USB product ID is not a platform the station knows.", .callTheLineLead),
        e("IDENTIFY-UNREACHABLE", "The device did not answer, or did not come back from DFU mode, while being identified.", .replugAndRetry),
        e("PAIR-MISMATCH", "The scanned sticker belongs to another device (its serial number or IMEI differs).", .findTheRightSticker),
        e("PAIR-NO-KEY", "The device did not report its serial number or IMEI, so its sticker cannot be checked.", .setAsideForRework),
        e("SCAN-UNRECOGNISED", "A scanned line is neither a sticker nor a command.", .findTheRightSticker),
        e("SETUP-DONE-NOT-SET", "The device still reports setup not done after the station set it.", .replugAndRetry),
        e("VERIFY-MODULE-INFO", "After flashing, the device does not report a written module as valid.", .replugAndRetry),

        // Scanned or reported identifiers (IdentifierError).
        e("ID-CHARACTER", "A scanned identifier contains a character it may not contain.", .findTheRightSticker),
        e("ID-CHECK-DIGIT", "A scanned number's check digit is wrong: it was misread or mistyped.", .findTheRightSticker),
        e("ID-EMPTY", "A scanned identifier is empty.", .findTheRightSticker),
        e("ID-LENGTH", "A scanned identifier has the wrong number of characters.", .findTheRightSticker),
        e("ID-STICKER-FORMAT", "The scan is not a Particle serial-number sticker.", .findTheRightSticker),

        // Firmware manifests and the flash plan (refused before anything is written).
        // The line database (`station line ...`, a station's replication).
        e("LINE-AUTH", "The line database refused the station's login (user, password or TLS).", .callTheLineLead),
        e("LINE-PASSWORD-FILE", "The line database's password file is missing, unreadable, or readable by others.", .callTheLineLead),
        e("LINE-PASSWORD-IN-URL", "A line database URL carries a password; it belongs in a 0600 file, PGPASSWORD or ~/.pgpass.", .callTheLineLead),
        e("LINE-QUERY", "A query on the line database failed.", .callTheLineLead),
        e("LINE-SCHEMA", "The line database has no schema, or another version (`station line migrate`).", .callTheLineLead),
        e("LINE-STORE", "The station's own store could not be read for shipping to the line.", .callTheLineLead),
        e("LINE-STORE-STATION", "A store given to `station line sync` does not name one station; use --config.", .callTheLineLead),
        e("LINE-TLS-REQUIRED", "A plain connection to a line database off this machine was refused: TLS only there.", .callTheLineLead),
        e("LINE-UNREACHABLE", "The line database cannot be reached; the station keeps its records and ships them later.", .callTheLineLead),
        e("LINE-URL", "A line database URL is not a usable postgresql:// URL.", .callTheLineLead),

        e("MANIFEST-DEVICE-OS", "The manifest's system firmware is not the Device OS release the manifest names.", .callTheLineLead),
        e("MANIFEST-FILE-ALTERED", "A firmware file is not the one the manifest pins (its SHA-256 differs).", .callTheLineLead),
        e("MANIFEST-FILE-MISSING", "A firmware file the manifest lists is missing.", .callTheLineLead),
        e("MANIFEST-INCONSISTENT", "The manifest's modules together would not make a bootable device.", .callTheLineLead),
        e("MANIFEST-NO-PLATFORM", "This line has no firmware manifest for the device's platform.", .setAsideForRework),
        e("MANIFEST-NOT-A-MODULE", "A file in the manifest is not a Device OS firmware module.", .callTheLineLead),
        e("MANIFEST-PLATFORM", "The manifest's platform is not one the station provisions, or it has no DFU memory layout.", .callTheLineLead),
        e("MANIFEST-PROTECTION", "The manifest does not fit its product's Device Protection (below the minimums, or the wrong bootloader).", .callTheLineLead),
        e("MANIFEST-PRODUCT", "The manifest's product firmware is missing, doubled, or not the product and version it names.", .callTheLineLead),
        e("MANIFEST-STATION-MISMATCH", "The manifest is for another product or platform than this station makes.", .callTheLineLead),
        e("MANIFEST-WRONG-PLATFORM", "A firmware module in the manifest is built for another platform.", .callTheLineLead),
        e("PLAN-DEPENDENCY", "After flashing, a module would lack a module it needs, so the device would not boot.", .callTheLineLead),
        e("PLAN-NEEDS-NORMAL-MODE", "Flashed in DFU mode, the device would lack a module only normal mode can install: nothing was written.", .replugAndRetry),
        e("PLAN-DUPLICATE", "Two firmware files are the same module; the manifest must keep one.", .callTheLineLead),
        e("PLAN-INTEGRITY", "A firmware file is damaged (its checks fail).", .callTheLineLead),
        e("PLAN-NOT-WRITABLE", "A firmware module cannot be written over DFU where it belongs.", .callTheLineLead),
        e("PLAN-PRODUCT", "The product firmware is for another product than this line makes.", .callTheLineLead),
        e("PLAN-PROTECTED", "Protected unit (Device Protection), or in Service Mode where the line does not flash those: not written.", .routeToOnlineRework),
        e("PLAN-PROTECTED-FIRMWARE", "A Service Mode unit would get firmware unfit for a protected unit (an open bootloader, or below 6.1.1).", .callTheLineLead),
        e("PLAN-UNSUPPORTED", "A firmware module cannot be flashed by the station.", .callTheLineLead),
        e("PLAN-WRONG-PLATFORM", "A firmware file is built for another platform than the device.", .callTheLineLead),

        // Firmware module files (ModuleError, `station inspect`).
        e("MODULE-COMBINED-PART", "A combined firmware file has a part that does not fit.", .callTheLineLead),
        e("MODULE-COMPRESSED-HEADER", "A compressed firmware module's header is missing or malformed.", .callTheLineLead),
        e("MODULE-DEFLATE", "A firmware module could not be compressed.", .callTheLineLead),
        e("MODULE-EMPTY", "A firmware file is empty.", .callTheLineLead),
        e("MODULE-EXTENSION-LENGTH", "A firmware module's extensions are corrupt (a length is wrong).", .callTheLineLead),
        e("MODULE-INFLATE", "A compressed firmware module does not decompress: the file is corrupt.", .callTheLineLead),
        e("MODULE-PREFIX-EXTENSIONS-END", "A firmware module's header extensions are corrupt (they do not end).", .callTheLineLead),
        e("MODULE-TRUNCATED", "A firmware file is too short to be a module: cut short, or not a module.", .callTheLineLead),
        e("MODULE-UNREADABLE", "A firmware file could not be read from disk.", .callTheLineLead),
        e("MODULE-TOO-LARGE", "A file given as a firmware module is larger than any Particle module (16 MiB): the wrong file.", .callTheLineLead),
        e("MODULE-UNWRITABLE", "A firmware module could not be built from the values given.", .callTheLineLead),

        // USB: the transfer seam's codes and libusb's (`LibUSBError`).
        e("USB-ACCESS", "The station may not open the USB device (udev rules or user group).", .callTheLineLead),
        e("USB-BUSY", "Another program holds the USB device (particle-cli, dfu-util or ModemManager).", .callTheLineLead),
        e("USB-INTERRUPTED", "A USB call was interrupted.", .replugAndRetry),
        e("USB-INVALID-PARAM", "The station made a USB call with an invalid parameter.", .callTheLineLead),
        e("USB-IO", "A USB transfer failed (cable, hub or port).", .replugAndRetry),
        e("USB-NO-DEVICE", "The device is gone from USB (unplugged or re-enumerating).", .replugAndRetry),
        e("USB-NO-MEM", "The station ran out of memory for a USB call.", .callTheLineLead),
        e("USB-NOT-FOUND", "The USB device or its interface was not found.", .replugAndRetry),
        e("USB-NOT-SUPPORTED", "The station's USB stack does not support this operation.", .callTheLineLead),
        e("USB-OTHER", "An unspecified USB error happened.", .replugAndRetry),
        e("USB-OVERFLOW", "The device sent more data than was asked for.", .replugAndRetry),
        e("USB-PIPE", "The device refused a USB request (pipe error, a STALL).", .replugAndRetry),
        e("USB-REPLAY-MISMATCH", "A replayed USB recording does not hold this request (lab and tests only).", .callTheLineLead),
        e("USB-STALL", "The device refused a USB request (STALL).", .replugAndRetry),
        e("USB-TIMEOUT", "The device did not answer a USB request in time.", .replugAndRetry),

        // Control-request firmware updates (bootloader, NCP, assets).
        e("UPDATE-DEVICE-GONE", "The device did not come back in normal mode after a firmware update reset.", .replugAndRetry),
        e("UPDATE-INVALID", "After the update the device reports the new module as invalid (it fails its checks).", .setAsideForRework),
        e("UPDATE-NOT-APPLIED", "After the update reset the device does not report the new module or version.", .replugAndRetry),
    ]
}
