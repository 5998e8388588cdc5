import CShims
import Foundation
import Seams
import Station
import SerialPort
import TextFormats
import Udev

/// Barcode scanners as streams of scanned texts (one per CR or LF-terminated line).
public enum ScannerInput {
    /// Splits bytes into lines: CR, LF or CR LF ends one; empty lines are dropped. A line is
    /// kept to `maximumLine` bytes (a scanner that never sends a line end cannot grow the
    /// buffer); a longer one arrives cut, and the bench refuses it as longer than any
    /// sticker (`BenchInput.maximumLine`).
    public struct LineSplitter: Sendable {
        /// One byte past the longest line the bench reads: a cut line is kept whole (not
        /// trimmed), so it is always longer than `BenchInput.maximumLine` and refused.
        public static let maximumLine = BenchInput.maximumLine + 1
        var assembler = LineAssembler(maximumLength: maximumLine)
        public init() {}
        public mutating func feed(_ bytes: [UInt8]) -> [String] {
            assembler.feed(bytes).map { $0.truncated ? $0.text : $0.text.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
    }

    /// Lines typed on standard input (a keyboard-wedge scanner and the technician's
    /// commands), read on a thread of its own.
    public static func standardInput() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .unbounded)
        let thread = Thread {
            var splitter = LineSplitter()
            while true {
                let data = FileHandle.standardInput.availableData
                if data.isEmpty { break }
                for line in splitter.feed([UInt8](data)) { continuation.yield(line) }
            }
            continuation.finish()
        }
        thread.name = "stdin"
        thread.start()
        return stream
    }

    /// A USB-serial scanner: its tty (`path`), or the tty of the USB device with this VID:PID.
    public static func serial(path: String?, vendorID: UInt16?, productID: UInt16?, baud: Int) throws -> (name: String, lines: AsyncStream<String>) {
        var tty = path
        if tty == nil, let vendorID, let productID {
            let udev = try UdevContext()
            let device = try udev.usbDevices(vendorID: vendorID).first { $0.productID == productID }
            tty = try device.flatMap { try udev.nodes(subsystem: "tty", forPortPath: $0.sysname).first }
        }
        guard let tty else {
            throw ScannerError(message: "no serial scanner \(vendorID.map { String(format: "%04x", $0) } ?? "?"):\(productID.map { String(format: "%04x", $0) } ?? "?") is attached; plug it in (lsusb shows it) or set [scanner] path")
        }
        let port: SerialPort
        do { port = try SerialPort(path: tty, baud: UInt32(baud)) } catch {
            throw ScannerError(message: "cannot open the scanner's port \(tty): \(error); check the udev rules (`station doctor`)")
        }
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .unbounded)
        let task = Task {
            var splitter = LineSplitter()
            while !Task.isCancelled {
                do {
                    let bytes = try await port.read(timeout: .milliseconds(500))
                    for line in splitter.feed(bytes) { continuation.yield(line) }
                } catch {
                    continuation.finish()
                    return
                }
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return (tty, stream)
    }
}

public struct ScannerError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public var description: String { message }
}

extension ScannerInput {
    /// Linux key codes (input-event-codes.h) to the characters stickers carry: letters,
    /// digits, `-`, the space of a Gen 3 sticker and the `]` of an AIM symbology prefix.
    static let keys: [UInt16: (plain: Character, shifted: Character)] = {
        var map: [UInt16: (Character, Character)] = [:]
        for (offset, digit) in "1234567890".enumerated() { map[UInt16(2 + offset)] = (digit, digit) }
        map[12] = ("-", "_")
        map[26] = ("[", "{")
        map[27] = ("]", "}")
        map[57] = (" ", " ")
        map[15] = ("\t", "\t")
        for (start, row) in [(16, "qwertyuiop"), (30, "asdfghjkl"), (44, "zxcvbnm")] {
            for (offset, letter) in row.enumerated() { map[UInt16(start + offset)] = (letter, Character(letter.uppercased())) }
        }
        return map
    }()

    /// Decodes evdev key events into lines: Enter (28, keypad 96) ends one; Shift (42, 54)
    /// is tracked; key repeats and releases type nothing. When the kernel dropped events
    /// (SYN_DROPPED: the station read too slowly) the line being typed has lost keys: it ends
    /// as `BenchInput.lostKeys` + what arrived, which the bench refuses ("scan it again"),
    /// never as a shorter code that might pair.
    public struct KeyDecoder: Sendable {
        var shift = false
        var line = ""
        var dropped = false
        public init() {}
        /// One `input_event` (type, code, value); returns a finished line, if any.
        public mutating func feed(type: UInt16, code: UInt16, value: Int32) -> String? {
            if type == 0 && code == 3 {  // EV_SYN / SYN_DROPPED
                dropped = true
                shift = false
                return nil
            }
            guard type == 1 else { return nil }  // EV_KEY
            if code == 42 || code == 54 {
                shift = value != 0
                return nil
            }
            guard value == 1 else { return nil }
            if code == 28 || code == 96 {
                defer { line = ""; dropped = false }
                if dropped { return BenchInput.lostKeys + line }
                return line.isEmpty ? nil : line
            }
            if let key = ScannerInput.keys[code] { line.append(shift ? key.shifted : key.plain) }
            return nil
        }
    }

    /// A keyboard-wedge scanner read from its own input device (the evdev node of the USB
    /// device with this VID:PID), grabbed so its keys do not reach the console or a terminal.
    public static func evdev(vendorID: UInt16, productID: UInt16) throws -> (name: String, lines: AsyncStream<String>) {
        let udev = try UdevContext()
        guard let device = try udev.usbDevices(vendorID: vendorID).first(where: { $0.productID == productID }) else {
            throw ScannerError(message: String(format: "no keyboard scanner %04x:%04x is attached; plug it in (lsusb shows it)", vendorID, productID))
        }
        guard let node = try udev.nodes(subsystem: "input", forPortPath: device.sysname).first(where: { $0.contains("/event") }) else {
            throw ScannerError(message: "the scanner at \(device.sysname) has no input event device; is the usbhid driver loaded?")
        }
        let fd = open(node, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw ScannerError(message: "cannot open \(node) (errno \(errno)); install the udev rules (udev-rules/) so the station's group may read the scanner")
        }
        let grabbed = cshim_evdev_grab(fd, 1)
        guard grabbed == 0 else {
            close(fd)
            throw ScannerError(message: "cannot grab \(node) (errno \(-grabbed)): another program holds it")
        }
        let (stream, continuation) = AsyncStream<String>.makeStream(bufferingPolicy: .unbounded)
        let thread = Thread {
            var decoder = KeyDecoder()
            // Up to 64 events a read (struct input_event is 24 bytes on 64-bit Linux): the
            // kernel keeps few per reader, and one read per event fell behind a fast scan.
            var events = [UInt8](repeating: 0, count: 24 * 64)
            reading: while true {
                let count = events.withUnsafeMutableBytes { read(fd, $0.baseAddress, 24 * 64) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0, count % 24 == 0 else { break }
                for start in stride(from: 0, to: count, by: 24) {
                    let event = events[start..<(start + 24)]
                    let type = UInt16(event[start + 16]) | UInt16(event[start + 17]) << 8
                    let code = UInt16(event[start + 18]) | UInt16(event[start + 19]) << 8
                    let value = Int32(bitPattern: UInt32(event[start + 20]) | UInt32(event[start + 21]) << 8 | UInt32(event[start + 22]) << 16 | UInt32(event[start + 23]) << 24)
                    if let line = decoder.feed(type: type, code: code, value: value) { continuation.yield(line) }
                }
                if Thread.current.isCancelled { break reading }
            }
            _ = cshim_evdev_grab(fd, 0)
            close(fd)
            continuation.finish()
        }
        thread.name = "evdev scanner"
        thread.start()
        return (node, stream)
    }
}
