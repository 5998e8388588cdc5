import Foundation
import Seams
import SerialPort
import Udev

/// Barcode scanners as streams of scanned texts (one per CR or LF-terminated line).
public enum ScannerInput {
    /// Splits bytes into lines: CR, LF or CR LF ends one; empty lines are dropped.
    public struct LineSplitter: Sendable {
        var pending: [UInt8] = []
        public init() {}
        public mutating func feed(_ bytes: [UInt8]) -> [String] {
            var lines: [String] = []
            for byte in bytes {
                if byte == 0x0D || byte == 0x0A {
                    let text = String(decoding: pending, as: UTF8.self).trimmingCharacters(in: .whitespaces)
                    if !text.isEmpty { lines.append(text) }
                    pending.removeAll()
                } else {
                    pending.append(byte)
                }
            }
            return lines
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
