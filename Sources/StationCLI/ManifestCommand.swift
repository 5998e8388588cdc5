import ArgumentParser
import Foundation
import Station
import StationConfig

/// `station manifest create DIR` and `station manifest verify FILE`.
struct ManifestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manifest", abstract: "Create or verify a firmware manifest (module files pinned by SHA-256).",
        subcommands: [ManifestCreateCommand.self, ManifestVerifyCommand.self])
}

struct ManifestCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Write a manifest for the module files in a folder.",
        discussion: """
            Reads every .bin file in DIR, takes the platform, Device OS and product (ID and version) \
            from the modules themselves, checks that the image they make is consistent (one platform, \
            every dependency met, one product firmware), and writes DIR/manifest.toml (or --out) \
            with each file's SHA-256. Exit 65 when the files do not make a consistent manifest.
            """)

    @Argument(help: "The folder holding the module files.", completion: .directory) var directory: String
    @Option(name: .long, help: "The manifest's name (default: the folder's name).") var name: String?
    @Option(name: .long, help: "Where to write it (default: DIR/manifest.toml).") var out: String?

    func run() async throws {
        let folder = URL(fileURLWithPath: directory)
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".bin") }.sorted()
        } catch {
            print("FAIL: cannot read the folder \(directory): \(error.localizedDescription)")
            throw StationExitCode.ioError.exitCode
        }
        guard !names.isEmpty else {
            print("FAIL: \(directory) holds no .bin module files.")
            throw StationExitCode.dataError.exitCode
        }
        var files: [(name: String, bytes: [UInt8])] = []
        for name in names {
            guard let data = FileManager.default.contents(atPath: folder.appendingPathComponent(name).path) else {
                print("FAIL: cannot read \(name).")
                throw StationExitCode.ioError.exitCode
            }
            files.append((name, [UInt8](data)))
        }
        let manifest: FirmwareManifest
        do {
            manifest = try FirmwareManifest.create(name: name ?? folder.lastPathComponent, files: files)
        } catch {
            print("FAIL [\(error.code)]: \(error.description)")
            throw StationExitCode.dataError.exitCode
        }
        let target = out ?? folder.appendingPathComponent("manifest.toml").path
        do {
            try Data(manifest.file.toml.utf8).write(to: URL(fileURLWithPath: target))
        } catch {
            print("FAIL: cannot write \(target): \(error.localizedDescription)")
            throw StationExitCode.ioError.exitCode
        }
        print(ManifestVerifyCommand.summary(manifest))
        print("written to \(target)")
    }
}

struct ManifestVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Re-check a manifest's files: present, unaltered (SHA-256), consistent.",
        discussion: "Module files are looked up relative to the manifest's folder. Exit 65 when the manifest cannot be used, 74 when it cannot be read.")

    @Argument(help: "The manifest file.", completion: .file()) var file: String

    func run() async throws {
        let manifest: FirmwareManifest
        do {
            manifest = try Self.load(file)
        } catch let error as ConfigFileError {
            print("FAIL: \(error)")
            throw StationExitCode.dataError.exitCode
        } catch let error as ManifestError {
            print("FAIL [\(error.code)]: \(error.description)")
            throw StationExitCode.dataError.exitCode
        }
        print(Self.summary(manifest))
        print("OK: every file is present, unaltered and consistent")
    }

    /// Reads a manifest and its module files (relative to its folder) and checks them.
    static func load(_ path: String) throws -> FirmwareManifest {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigFileError(file: path, key: nil, problem: "cannot be read; check the path.")
        }
        let parsed = try FirmwareManifestFile.parse(String(decoding: data, as: UTF8.self), file: path)
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        var contents: [String: [UInt8]?] = [:]
        for module in parsed.modules {
            let url = module.file.hasPrefix("/") ? URL(fileURLWithPath: module.file) : folder.appendingPathComponent(module.file)
            contents[module.file] = FileManager.default.contents(atPath: url.path).map { [UInt8]($0) }
        }
        return try FirmwareManifest.check(parsed, contents: contents)
    }

    static func summary(_ manifest: FirmwareManifest) -> String {
        let file = manifest.file
        var lines = ["\(file.name): \(manifest.platform.displayName) (\(file.platform)), Device OS \(file.deviceOS), product \(file.productID) version \(file.productVersion)"]
        for module in manifest.modules {
            let header = module.module.header
            lines.append("  \(module.name): \(header.function.name) #\(header.index) v\(header.version), \(module.module.size) bytes")
        }
        return lines.joined(separator: "\n")
    }
}
