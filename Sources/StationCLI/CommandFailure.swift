import ArgumentParser
import ControlRequests
import DFU
import Foundation
import LibUSB
import Station
import StationConfig
import StationStore
import TextFormats

/// Why a command did not succeed: the exit code (the README's table), a stable code a script
/// can match, and a message that says what to do. Commands throw it; `StationRunner` prints
/// it once, on standard error, or as `{"error": {...}}` on standard output under `--json`.
struct CommandFailure: Error, Equatable, CustomStringConvertible {
    let exit: StationExitCode
    let code: String
    let message: String

    init(_ exit: StationExitCode, _ code: String, _ message: String) {
        self.exit = exit
        self.code = code
        self.message = Self.sentence(message)
    }

    var description: String { "FAIL [\(code)]: \(message)" }

    /// One sentence end: a message built from parts never says `..` or `.;` (a part that
    /// ended in a period followed by one more). Paths (`../x`) and ellipses are left alone.
    static func sentence(_ text: String) -> String {
        var text = text.trimmingCharacters(in: .whitespaces)
        let doubled = try! NSRegularExpression(pattern: #"(?<![./])\.\.(?=\s|$)|([;:])[.;](?=\s|$)|\.;(?=\s|$)"#)
        var previous = ""
        while previous != text {
            previous = text
            text = doubled.stringByReplacingMatches(in: text, range: NSRange(text.startIndex..., in: text), withTemplate: ".")
        }
        return text
    }

    // MARK: Files (the one place that says which exit code a file problem gets)

    /// A file that is not there: 74.
    static func missing(_ path: String, what: String, fix: String) -> CommandFailure {
        CommandFailure(.ioError, "FILE-MISSING", "no \(what) at \(path); \(fix)")
    }

    /// A file that is there but cannot be read (permissions, a folder where a file belongs): 74.
    static func unreadable(_ path: String, what: String, detail: String) -> CommandFailure {
        CommandFailure(.ioError, "FILE-UNREADABLE", "cannot read the \(what) \(path): \(detail)")
    }

    /// A file that cannot be written: 74.
    static func unwritable(_ path: String, detail: String) -> CommandFailure {
        CommandFailure(.ioError, "FILE-UNWRITABLE", "cannot write \(path): \(detail). Check the folder exists and this user may write there")
    }

    /// The largest file a command reads whole: past every module (16 MiB), tray file and
    /// config. A bigger one is the wrong file; it is refused before it is read.
    static let maximumFileSize = 64 * 1024 * 1024

    /// Reads a whole file, or the failure that says why not (missing and unreadable are both
    /// 74; larger than `maximum` is 65).
    static func read(_ path: String, what: String, fix: String = "check the path", maximum: Int = maximumFileSize) throws(CommandFailure) -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw missing(path, what: what, fix: fix) }
        guard !isDirectory.boolValue else { throw unreadable(path, what: what, detail: "it is a folder, not a file") }
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber, size.intValue > maximum {
            throw CommandFailure(.dataError, "FILE-TOO-LARGE", "the \(what) \(path) is \(size.intValue) bytes, more than the \(maximum) a \(what) can be; check it is the right file")
        }
        // Read at most one byte past the bound: a FIFO or a device (/dev/zero) reports no size.
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw unreadable(path, what: what, detail: "permission denied (this user may not read it)")
        }
        defer { try? handle.close() }
        let data: Data
        do { data = try handle.read(upToCount: maximum + 1) ?? Data() } catch {
            throw unreadable(path, what: what, detail: "\(error.localizedDescription)")
        }
        guard data.count <= maximum else {
            throw CommandFailure(.dataError, "FILE-TOO-LARGE", "the \(what) \(path) is more than the \(maximum) bytes a \(what) can be; check it is the right file")
        }
        return data
    }

    static func text(_ path: String, what: String, fix: String = "check the path") throws(CommandFailure) -> String {
        let data = try read(path, what: what, fix: fix)
        do {
            return try TextLines.decode(data)
        } catch {
            throw CommandFailure(.dataError, "FILE-NOT-TEXT", "the \(what) \(path) is not UTF-8 text at \(error)")
        }
    }

    // MARK: Typed errors from the libraries, mapped once

    /// Maps any error a command lets through. `ExitCode` (a command that has already said
    /// what happened) is not a failure to print: nil.
    static func from(_ error: any Error) -> CommandFailure? {
        switch error {
        case let failure as CommandFailure:
            return failure
        case is ExitCode, is CleanExit:
            return nil
        case let error as ConfigFileError:
            return CommandFailure(.dataError, "CONFIG-INVALID", error.description)
        case let error as ManifestError:
            return CommandFailure(.dataError, error.code, error.description)
        case let error as StoreError:
            switch error {
            case .missing: return CommandFailure(.ioError, error.code, error.message)
            case .open, .database: return CommandFailure(.unavailable, error.code, error.message)
            }
        case let error as RealDFUDevice.Failure:
            return CommandFailure(.unavailable, error.code, error.description)
        case let error as LibUSBError:
            return CommandFailure(.unavailable, error.code, error.description)
        case let error as DFUError:
            return CommandFailure(.failed, error.code, error.description)
        case let error as ControlRequestError:
            return CommandFailure(.failed, error.code, error.description)
        case let error as PlanRefusal:
            return CommandFailure(.dataError, error.code, error.description)
        case let error as CocoaError where error.code == .fileNoSuchFile || error.code == .fileReadNoSuchFile:
            return CommandFailure(.ioError, "FILE-MISSING", error.localizedDescription)
        case let error as CocoaError where error.code.rawValue >= 256 && error.code.rawValue < 1024:
            return CommandFailure(.ioError, "FILE-IO", error.localizedDescription)
        default:
            return CommandFailure(.software, "INTERNAL", "\(error). This is a bug in the station: report it with the command and this output")
        }
    }

    /// `{"error": {"code": ..., "message": ..., "exit": ...}}`
    var json: String {
        struct Shape: Encodable {
            struct Inner: Encodable {
                let code: String
                let message: String
                let exit: Int32
            }
            let error: Inner
        }
        return (try? JSONOutput.render(Shape(error: .init(code: code, message: message, exit: exit.rawValue))))
            ?? "{\"error\": {\"code\": \"\(code)\", \"exit\": \(exit.rawValue)}}"
    }
}

/// A command with a `--json` flag: under it every outcome is JSON on standard output,
/// failures included.
protocol JSONOutputCommand {
    var printsJSON: Bool { get }
}

/// Runs `station`: parses, runs the one command, and prints any failure in one place
/// (stderr, or JSON on stdout under `--json`) with its exit code from the README's table.
public enum StationRunner {
    public static func main(_ arguments: [String]? = nil) async -> Never {
        var command: any ParsableCommand
        do {
            command = try StationCommand.parseAsRoot(arguments)
        } catch {
            // Help, usage errors: ArgumentParser prints the subcommand's own usage (exit 64, or 0 for help).
            StationCommand.exit(withError: error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            Foundation.exit(0)
        } catch {
            Foundation.exit(report(error, command: command))
        }
    }

    /// Prints the failure (once) and returns the exit code.
    static func report(_ error: any Error, command: any ParsableCommand) -> Int32 {
        if let exit = error as? ExitCode { return exit.rawValue }
        // `station --help`, `station help ...`: ArgumentParser's help command throws its
        // help text as an error whose exit code is success; it prints it itself.
        if !(error is CommandFailure), StationCommand.exitCode(for: error) == .success { StationCommand.exit(withError: error) }
        var failure = CommandFailure.from(error) ?? CommandFailure(.software, "INTERNAL", "\(error)")
        if let validation = error as? ValidationError {
            failure = CommandFailure(.usage, "USAGE", validation.message)
        }
        if (command as? any JSONOutputCommand)?.printsJSON == true {
            print(failure.json)
        } else {
            var text = failure.description + "\n"
            if failure.exit == .usage {
                text += StationCommand.usageString(for: type(of: command)) + "\n  See 'station help \(commandPath(type(of: command)))' for more information.\n"
            }
            FileHandle.standardError.write(Data(text.utf8))
        }
        return failure.exit.rawValue
    }

    /// `queue sync` for `QueueSyncCommand`.
    static func commandPath(_ type: any ParsableCommand.Type) -> String {
        func search(_ node: any ParsableCommand.Type, _ path: [String]) -> [String]? {
            for sub in node.configuration.subcommands {
                let name = sub.configuration.commandName ?? String(describing: sub).lowercased()
                if sub == type { return path + [name] }
                if let found = search(sub, path + [name]) { return found }
            }
            return nil
        }
        return (search(StationCommand.self, []) ?? []).joined(separator: " ")
    }
}

/// Prints one line on standard error (warnings and notes that are not the command's output).
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
