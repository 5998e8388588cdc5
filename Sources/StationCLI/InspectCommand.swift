import ArgumentParser
import FirmwareModules
import Foundation
import ParticleDevices
import Zlib

/// `station inspect FILE...`: what particle-cli's `binary inspect` shows, for technicians
/// and QA, with `--json` for tools.
struct InspectCommand: ParsableCommand, JSONOutputCommand {
    var printsJSON: Bool { json }
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show what Particle firmware module files contain and whether they are intact.",
        discussion: """
            For each file: platform, module function, index and version (with its Device OS \
            release where known), addresses, dependencies, flags, CRC and SHA-256 checks, \
            product ID and version, and the parts of compressed or combined files. \
            A file that cannot be parsed is reported and the others are still inspected; the \
            exit status is then 1.
            """)

    @Flag(name: .long, help: "Print a JSON array with one element per file (keys as in the fixtures' EXPECTED.json).")
    var json = false

    @Argument(help: "Module files (.bin).", completion: .file())
    var files: [String]

    func run() throws {
        let results = files.map { Self.inspect(path: $0) }
        if json {
            print(try JSONOutput.render(results))
        } else {
            let good = results.filter { !$0.isFailure }, bad = results.filter(\.isFailure)
            if !good.isEmpty { print(good.map(InspectionText.render).joined(separator: "\n")) }
            for failure in bad { printError(InspectionText.render(failure)) }
        }
        // Every file is reported; a file that could not be read at all makes the exit 74 (a
        // mistake in the command line), one that is not a valid module 1 (a finding).
        if results.contains(where: { if case .failed(_, "MODULE-UNREADABLE", _) = $0 { true } else { false } }) { throw StationExitCode.ioError.exitCode }
        if results.contains(where: \.isFailure) { throw StationExitCode.failed.exitCode }
    }

    /// Reads and inspects one file; never throws, so one bad file does not stop the rest.
    static func inspect(path: String) -> InspectResult {
        let data: Data
        if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber, size.intValue > FirmwareModule.maximumSize {
            return .failed(file: path, code: "MODULE-TOO-LARGE",
                           message: "the file is \(size.intValue) bytes; no Particle module is larger than \(FirmwareModule.maximumSize). Check it is a module file")
        }
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            return .failed(file: path, code: "MODULE-UNREADABLE", message: "cannot read the file: \(error.localizedDescription)")
        }
        do {
            var report = try ModuleInspection.inspect(file: path, bytes: [UInt8](data), codec: ZlibDeflateCodec())
            annotate(&report)
            return .inspected(report)
        } catch {
            return .failed(file: path, code: error.code, message: error.description)
        }
    }

    /// Adds what the platform catalog and the version table know (names, releases).
    static func annotate(_ report: inout ModuleInspection) {
        report.platformName = PlatformCatalog.bundled.platform(id: PlatformID(UInt16(clamping: report.platformID)))?.name
        let kind: VersionedModuleKind? = switch ModuleFunction(rawValue: UInt8(clamping: report.moduleFunction)) {
        case .systemPart: .systemPart
        case .bootloader: .bootloader
        case .radioStack: .radioStack
        case .ncpFirmware: .ncp
        default: nil
        }
        report.deviceOSRelease = kind.flatMap {
            DeviceOSVersionTable.bundled.release(for: UInt16(clamping: report.moduleVersion), kind: $0)
        }
        for keyPath in [\ModuleInspection.decompressed, \ModuleInspection.parts] {
            if var nested = report[keyPath: keyPath] {
                for index in nested.indices { annotate(&nested[index]) }
                report[keyPath: keyPath] = nested
            }
        }
    }
}

/// One element of `inspect --json`.
enum InspectResult: Encodable {
    case inspected(ModuleInspection)
    case failed(file: String, code: String, message: String)

    var isFailure: Bool {
        if case .failed = self { return true }
        return false
    }

    private enum FailureKeys: String, CodingKey { case file, parseError, errorCode }

    func encode(to encoder: any Encoder) throws {
        switch self {
        case .inspected(let report):
            try report.encode(to: encoder)
        case .failed(let file, let code, let message):
            var container = encoder.container(keyedBy: FailureKeys.self)
            try container.encode(file, forKey: .file)
            try container.encode(message, forKey: .parseError)
            try container.encode(code, forKey: .errorCode)
        }
    }
}
