import FirmwareModules
import Foundation
import Seams
import TextFormats

/// What the console's `i` says.
public struct ConsoleIdentity: Hashable, Sendable {
    public var deviceID: String
    public var serialNumber: String?
    public var imei: String?
    public var iccid: String?
    public var cellularFirmware: String?
    /// True when the device printed a Device Secret (the value is not kept).
    public var hadDeviceSecret: Bool
}

/// A module as the console's `s` JSON describes it.
public struct ConsoleModule: Hashable, Sendable {
    public var function: ModuleFunction
    public var index: UInt8
    public var version: UInt16
    public var maximumSize: UInt32?
    public var checked: UInt32
    public var passed: UInt32
    public var dependencies: [ModuleDependency]
    public var isValid: Bool { checked ^ passed == 0 }
}

public struct ConsoleError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// Nothing came back: the device is not in listening mode, or not a Particle console.
        case noAnswer(key: Character)
        case unrecognised(key: Character, text: String)
        case stream(ByteStreamError)
        /// The answer ran past `ListeningConsole.maximumAnswer`: not a Particle console, or a
        /// device that never stops talking.
        case tooLong(key: Character, bytes: Int)
    }
    public let port: String
    public let kind: Kind

    public var code: String {
        switch kind {
        case .noAnswer: "CONSOLE-NO-ANSWER"
        case .unrecognised: "CONSOLE-UNRECOGNISED"
        case .stream: "CONSOLE-IO"
        case .tooLong: "CONSOLE-TOO-LONG"
        }
    }

    public var description: String {
        switch kind {
        case .noAnswer(let key):
            "[\(code)] \(port) did not answer '\(key)': the console answers only in listening mode (blinking dark blue). Hold MODE for 3 s, or use `station identify --listen`, and retry."
        case .unrecognised(let key, let text): "[\(code)] \(port) answered '\(key)' with something the station cannot read: \(text.prefix(120).debugDescription)"
        case .stream(let error): "[\(code)] \(error)"
        case .tooLong(let key, let bytes):
            "[\(code)] \(port) answered '\(key)' with more than \(bytes) bytes, far past any console answer: replug the device; if it happens again, set it aside."
        }
    }
}

/// The serial listening-mode console (particle-usb-protocol.md 4): single-key commands,
/// output batched until a quiet period, and parsers for `i` (both formats), `v` and `s`.
public struct ListeningConsole: Sendable {
    public let stream: any ByteStream
    /// Starts a stopwatch on the injected clock: how long an answer has taken (a device that
    /// never stops talking is cut off).
    let startStopwatch: @Sendable () -> @Sendable () -> Duration
    /// Output ends after this much silence (the CLI's 250 ms).
    public var quiet: Duration = .milliseconds(250)
    /// How long to wait for the first byte, and for the whole answer.
    public var answerTimeout: Duration = .seconds(20)
    /// The longest answer kept: `s` on a device with every module is a few KiB. A device
    /// that sends more is cut off with an error, never buffered without end.
    public static let maximumAnswer = 64 * 1024

    private static func stopwatch<C: Clock<Duration>>(_ clock: C) -> @Sendable () -> @Sendable () -> Duration {
        {
            let start = clock.now
            return { start.duration(to: clock.now) }
        }
    }

    /// Talks over `stream`; answers are timed on `clock`.
    public init(stream: any ByteStream, clock: any Clock<Duration>) {
        self.stream = stream
        startStopwatch = Self.stopwatch(clock)
    }

    func fail(_ kind: ConsoleError.Kind) -> ConsoleError { ConsoleError(port: stream.name, kind: kind) }

    /// Sends one key and returns the batched answer: everything until `quiet` passes without
    /// a byte and, when `complete` is given, the text is complete (a slow port can pause
    /// longer than the quiet period mid-answer), within `answerTimeout`.
    public func command(_ key: Character, complete: (@Sendable (String) -> Bool)? = nil) async throws(ConsoleError) -> String {
        do {
            try await stream.write(Array(String(key).utf8))
            let elapsed = startStopwatch()
            var output = try await stream.read(timeout: answerTimeout)
            guard !output.isEmpty else { throw fail(.noAnswer(key: key)) }
            // The deadline runs whether or not the device talks: a chattering device ends
            // the read at `answerTimeout` like a silent one.
            while elapsed() < answerTimeout {
                guard output.count <= Self.maximumAnswer else { throw fail(.tooLong(key: key, bytes: output.count)) }
                let more = try await stream.read(timeout: min(quiet, max(answerTimeout - elapsed(), .milliseconds(1))))
                if !more.isEmpty {
                    output += more
                    continue
                }
                if complete?(String(decoding: output, as: UTF8.self)) ?? true { break }
            }
            guard output.count <= Self.maximumAnswer else { throw fail(.tooLong(key: key, bytes: output.count)) }
            return String(decoding: output, as: UTF8.self)
        } catch let error as ByteStreamError {
            throw fail(.stream(error))
        } catch let error as ConsoleError {
            throw error
        } catch {
            throw fail(.stream(.io(stream.name, call: "read", code: -1)))
        }
    }

    public func identify() async throws(ConsoleError) -> ConsoleIdentity {
        let text = try await command("i") { $0.utf8.last == UInt8(ascii: "\n") && Self.parseIdentity($0) != nil }
        guard let identity = Self.parseIdentity(text) else { throw fail(.unrecognised(key: "i", text: text)) }
        return identity
    }

    public func version() async throws(ConsoleError) -> String {
        let text = try await command("v") { Self.parseVersion($0) != nil && $0.utf8.last == UInt8(ascii: "\n") }
        guard let version = Self.parseVersion(text) else { throw fail(.unrecognised(key: "v", text: text)) }
        return version
    }

    public func modules() async throws(ConsoleError) -> (platformID: Int?, modules: [ConsoleModule]) {
        let text = try await command("s") { Self.parseSystemInfo($0) != nil }
        guard let parsed = Self.parseSystemInfo(text) else { throw fail(.unrecognised(key: "s", text: text)) }
        return parsed
    }

    /// `m`: the MAC address (`Your device MAC address is` then `xx:xx:xx:xx:xx:xx`).
    public func macAddress() async throws(ConsoleError) -> String {
        let text = try await command("m") { Self.parseMACAddress($0) != nil && $0.utf8.last == UInt8(ascii: "\n") }
        guard let mac = Self.parseMACAddress(text) else { throw fail(.unrecognised(key: "m", text: text)) }
        return mac
    }

    /// Leaves listening mode (`x`); the device answers nothing.
    public func exitListening() async throws(ConsoleError) {
        do { try await stream.write(Array("x".utf8)) } catch { throw fail(.stream(error)) }
    }

    // MARK: Parsers (pure)

    /// `Device ID: <id>` plus labelled lines (Gen 3 and cellular), or `Your device id is <id>`.
    public static func parseIdentity(_ text: String) -> ConsoleIdentity? {
        var labels: [String: String] = [:]
        for line in TextLines.split(text) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            labels[line[..<colon].trimmingCharacters(in: .whitespaces)] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var id = labels["Device ID"]
        if id == nil, let range = text.range(of: #"Your (core|device) id is\s+(\w+)"#, options: .regularExpression) {
            id = String(text[range]).split(separator: " ").last.map(String.init)
        }
        guard let id, id.count == 24, id.allSatisfy(\.isHexDigit) else { return nil }
        return ConsoleIdentity(deviceID: id.lowercased(), serialNumber: labels["Serial Number"], imei: labels["IMEI"], iccid: labels["ICCID"],
                               cellularFirmware: labels["Cell Radio Version"], hadDeviceSecret: labels["Device Secret"] != nil)
    }

    /// Six colon-separated hex pairs, lowercased.
    public static func parseMACAddress(_ text: String) -> String? {
        guard let range = text.range(of: #"([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}"#, options: .regularExpression) else { return nil }
        return text[range].lowercased()
    }

    /// `system firmware version: <ver>`.
    public static func parseVersion(_ text: String) -> String? {
        guard let range = text.range(of: #"system firmware version:\s+[\w.\-]+"#, options: .regularExpression) else { return nil }
        return String(text[range]).split(separator: " ").last.map(String.init)
    }

    /// Device OS `module_function_string`: n r b m s u c a.
    static let functions: [String: ModuleFunction] = [
        "n": .none, "r": .resource, "b": .bootloader, "m": .monoFirmware, "s": .systemPart, "u": .userPart, "c": .ncpFirmware, "a": .radioStack,
    ]

    /// The `s` JSON: `p` platform, `m` modules (`f`, `n`, `v`, `s`, `vc`, `vv`, `d`).
    public static func parseSystemInfo(_ text: String) -> (platformID: Int?, modules: [ConsoleModule])? {
        guard let start = text.firstIndex(of: "{"), let end = text.lastIndex(of: "}"), start < end,
            let object = try? JSONSerialization.jsonObject(with: Data(text[start...end].utf8)) as? [String: Any],
            let list = object["m"] as? [[String: Any]]
        else { return nil }
        func number(_ value: Any?) -> Int? {
            if let n = value as? Int { return n }
            if let s = value as? String { return Int(s) }
            return nil
        }
        var modules: [ConsoleModule] = []
        for item in list {
            guard let letter = item["f"] as? String, let function = functions[letter] else { return nil }
            let dependencies = (item["d"] as? [[String: Any]] ?? []).compactMap { dep -> ModuleDependency? in
                guard let f = dep["f"] as? String, let function = functions[f] else { return nil }
                return ModuleDependency(function: function, index: UInt8(clamping: number(dep["n"]) ?? 0), version: UInt16(clamping: number(dep["v"]) ?? 0))
            }
            modules.append(ConsoleModule(
                function: function, index: UInt8(clamping: number(item["n"]) ?? 0), version: UInt16(clamping: number(item["v"]) ?? 0),
                maximumSize: number(item["s"]).map { UInt32(clamping: $0) }, checked: UInt32(clamping: number(item["vc"]) ?? 0),
                passed: UInt32(clamping: number(item["vv"]) ?? 0), dependencies: dependencies))
        }
        return (number(object["p"]), modules)
    }
}

extension ConsoleError: DeviceFacingError {
    public var cause: DeviceCause {
        switch kind {
        case .stream(let error): error.cause
        case .noAnswer: .timeout
        case .unrecognised, .tooLong: .protocolViolation
        }
    }
}
