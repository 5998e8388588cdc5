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
            with each file's SHA-256. --device-protection marks a product with Device Protection: \
            its system part and bootloader must meet the protected minimums (Device OS 6.1.1) and \
            its bootloader be the protected variant (SECURITY_MODE). Exit 65 when the files do not \
            make a consistent manifest.
            """)

    @Argument(help: "The folder holding the module files.", completion: .directory) var directory: String
    @Option(name: .long, help: "The manifest's name (default: the folder's name).") var name: String?
    @Option(name: .long, help: "Where to write it (default: DIR/manifest.toml).") var out: String?
    @Flag(name: .long, help: "The product has Device Protection (writes [product] device_protection = true).") var deviceProtection = false

    func run() async throws {
        let folder = URL(fileURLWithPath: directory)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory) else {
            throw CommandFailure.missing(directory, what: "folder", fix: "name the folder holding the release's .bin module files")
        }
        guard isDirectory.boolValue else {
            throw CommandFailure(.usage, "USAGE", "\(directory) is a file; name the folder holding the module files")
        }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".bin") }.sorted()
        } catch {
            throw CommandFailure.unreadable(directory, what: "folder", detail: error.localizedDescription)
        }
        guard !names.isEmpty else {
            throw CommandFailure(.dataError, "MANIFEST-NO-MODULES", "\(directory) holds no .bin module files; copy the release's module files into it")
        }
        var files: [(name: String, bytes: [UInt8])] = []
        for name in names {
            files.append((name, [UInt8](try CommandFailure.read(folder.appendingPathComponent(name).path, what: "module file"))))
        }
        let manifest = try FirmwareManifest.create(name: name ?? folder.lastPathComponent, files: files, deviceProtection: deviceProtection)
        let target = out ?? folder.appendingPathComponent("manifest.toml").path
        do {
            try Data(manifest.file.toml.utf8).write(to: URL(fileURLWithPath: target))
        } catch {
            throw CommandFailure.unwritable(target, detail: error.localizedDescription)
        }
        print(ManifestVerifyCommand.summary(manifest))
        print("written to \(target)")
    }
}

struct ManifestVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Re-check a manifest's files: present, unaltered (SHA-256), consistent.",
        discussion: """
            FILE is the manifest, or a folder holding manifest.toml. Module files are looked up \
            relative to the manifest's folder. Every problem is listed, each with its code. Exit 65 \
            when the manifest cannot be used, 74 when it cannot be read. A product with Device \
            Protection ([product] device_protection = true) is checked against the protected \
            minimums and must carry the protected bootloader (MANIFEST-PROTECTION).
            """)

    @Argument(help: "The manifest file, or the folder holding manifest.toml.", completion: .file()) var file: String

    func run() async throws {
        switch try Self.examine(file) {
        case .success(let manifest):
            print(Self.summary(manifest))
            print("OK: every file is present, unaltered and consistent")
        case .failure(let problems):
            for problem in problems.all.dropLast() { printError(CommandFailure(.dataError, problem.code, problem.description).description) }
            let last = problems.all[problems.all.count - 1]
            throw CommandFailure(.dataError, last.code, last.description + (problems.all.count > 1 ? " (\(problems.all.count) problems in all)" : ""))
        }
    }

    /// The manifest path a command was given: a folder means its manifest.toml.
    static func resolve(_ path: String) -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return URL(fileURLWithPath: path).appendingPathComponent("manifest.toml").path
        }
        return path
    }

    /// Reads a manifest and its module files (relative to its folder) and checks them.
    /// Throws `CommandFailure` when the manifest itself cannot be read (74) or parsed (65).
    static func examine(_ given: String) throws(CommandFailure) -> Result<FirmwareManifest, FirmwareManifest.Problems> {
        let path = resolve(given)
        let text = try CommandFailure.text(path, what: "manifest", fix: "check the path (a folder must hold manifest.toml; `station manifest create DIR` writes one)")
        let parsed: FirmwareManifestFile
        do { parsed = try FirmwareManifestFile.parse(text, file: path) } catch {
            throw CommandFailure(.dataError, "MANIFEST-INVALID", "\(error)")
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        var contents: [String: [UInt8]?] = [:]
        for module in parsed.modules {
            let url = module.file.hasPrefix("/") ? URL(fileURLWithPath: module.file) : folder.appendingPathComponent(module.file)
            contents[module.file] = FileManager.default.contents(atPath: url.path).map { [UInt8]($0) }
        }
        return FirmwareManifest.examine(parsed, contents: contents)
    }

    /// The checked manifest, or the first problem (`station run` refuses to start on it).
    static func load(_ path: String) throws -> FirmwareManifest {
        switch try examine(path) {
        case .success(let manifest): return manifest
        case .failure(let problems): throw problems.all[0]
        }
    }

    static func summary(_ manifest: FirmwareManifest) -> String {
        let file = manifest.file
        var lines = ["\(file.name): \(manifest.platform.displayName) (\(file.platform)), Device OS \(file.deviceOS), product \(file.productID) version \(file.productVersion)"]
        if file.deviceProtection {
            lines.append("  Device Protection: on (the protected minimums are met; the bootloader is the protected variant where required)")
        }
        for module in manifest.modules {
            let header = module.module.header
            let variant = module.module.securityMode == 1 ? ", protected variant (SECURITY_MODE)" : ""
            lines.append("  \(module.name): \(header.function.name) #\(header.index) v\(header.version), \(module.module.size) bytes\(variant)")
        }
        return lines.joined(separator: "\n")
    }
}
