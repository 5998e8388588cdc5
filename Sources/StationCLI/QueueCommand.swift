import ArgumentParser
import Curl
import Foundation
import ImportQueue
import ParticleCloud
import ParticleDevices
import Seams
import StationConfig
import StationStore
import TextFormats

/// `station queue ...`: the product pre-add import queue.
struct QueueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queue", abstract: "The product pre-add import queue: add, status, sync, retry, migrate, export.",
        discussion: "Every subcommand takes --config (the station config) and --store (overrides the config's store path).",
        subcommands: [QueueAddCommand.self, QueueStatusCommand.self, QueueSyncCommand.self, QueueRetryCommand.self, QueueMigrateCommand.self, QueueExportCommand.self])
}

/// The options every queue command shares, and loading what they name.
struct StoreOptions: ParsableArguments {
    @Option(name: .long, help: "The station config (stations/NAME.toml).", completion: .file())
    var config: String?

    @Option(name: .long, help: "The station store (SQLite); default: the config's [store] path or $XDG_STATE_HOME/station/<station id>/station.sqlite.")
    var store: String?

    func loadConfig() throws(CommandFailure) -> StationConfig? {
        guard let config else { return nil }
        return try ConfigFiles.stationConfig(config)
    }

    /// The store the options name. `create`: false for commands that only read (a wrong
    /// path is an error, never a new empty store).
    func openStore(_ config: StationConfig?, create: Bool) throws(CommandFailure) -> StationStore {
        guard let path = store ?? config?.storeLocation(environment: ProcessInfo.processInfo.environment) else {
            throw CommandFailure(.usage, "USAGE", "name the station with --config FILE, or the store with --store PATH")
        }
        do {
            return try StationStore(path: path, create: create, group: config?.storeGroup)
        } catch {
            throw CommandFailure.from(error)!
        }
    }
}

/// Reading the station's files: the config, the credentials (owner-only), a token file.
enum ConfigFiles {
    /// The station config at `path`; `text`: its contents when the caller has read them.
    static func stationConfig(_ path: String, text given: String? = nil) throws(CommandFailure) -> StationConfig {
        let text: String
        if let given { text = given } else { text = try CommandFailure.text(path, what: "station config") }
        do {
            return try StationConfig.parse(text, file: path, extraSections: BenchConfig.sections)
        } catch {
            throw CommandFailure(.dataError, "CONFIG-INVALID", "\(error)")
        }
    }

    static func mode(_ path: String) throws(CommandFailure) -> UInt32 {
        _ = try CommandFailure.read(path, what: "file")
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path), let mode = attributes[.posixPermissions] as? NSNumber else {
            throw CommandFailure.unreadable(path, what: "file", detail: "its permissions cannot be read")
        }
        return mode.uint32Value
    }

    /// Why a credentials file cannot be used; `unreadable`: it could not be read at all.
    struct CredentialsProblem: Error, CustomStringConvertible {
        let description: String
        let unreadable: Bool
    }

    /// The credentials file a config names (relative to the config's folder), read once and
    /// checked, without printing: `station run` shows a problem once, as its "imports
    /// paused" banner.
    static func loadCredentials(for config: StationConfig, configPath: String) -> Result<Credentials, CredentialsProblem> {
        let path = config.cloud.credentialsFile.hasPrefix("/")
            ? config.cloud.credentialsFile
            : URL(fileURLWithPath: configPath).deletingLastPathComponent().appendingPathComponent(config.cloud.credentialsFile).path
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
            let attributes = try? FileManager.default.attributesOfItem(atPath: path), let mode = attributes[.posixPermissions] as? NSNumber
        else { return .failure(CredentialsProblem(description: "the credentials file \(path) cannot be read; check [cloud] credentials_file", unreadable: true)) }
        do {
            let credentials = try Credentials.parse(text, file: path, mode: mode.uint32Value)
            try config.check(credentials, file: path)
            return .success(credentials)
        } catch {
            return .failure(CredentialsProblem(description: "\(error)", unreadable: false))
        }
    }

    /// The credentials file a config names, or the failure (74 unreadable, 65 invalid).
    static func credentials(for config: StationConfig, configPath: String) throws(CommandFailure) -> Credentials {
        switch loadCredentials(for: config, configPath: configPath) {
        case .success(let credentials):
            return credentials
        case .failure(let problem) where problem.unreadable:
            throw CommandFailure(.ioError, "CREDENTIALS-UNREADABLE", problem.description)
        case .failure(let problem):
            throw CommandFailure(.dataError, "CREDENTIALS-INVALID", problem.description)
        }
    }

    /// A token file: just the product token on one line, owner-only like the credentials.
    static func token(_ path: String) throws(CommandFailure) -> Token {
        let text = try CommandFailure.text(path, what: "token file")
        do {
            return try Credentials.parseTokenFile(text, file: path, mode: try mode(path))
        } catch let error as ConfigFileError {
            throw CommandFailure(.dataError, "CREDENTIALS-INVALID", error.description)
        } catch {
            throw CommandFailure.from(error)!
        }
    }
}

struct QueueAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Queue devices for import by hand or from a tray/reel file.",
        discussion: """
            Each device is DEVICE_ID[,ICCID][,SERIAL] on the command line, or one line of --file: tokens \
            separated by commas, tabs or spaces, each recognised as device ID, ICCID or serial number. \
            A file with errors queues nothing (each error with its line number) unless --skip-bad.
            """)

    @OptionGroup var options: StoreOptions
    @Option(name: .long, help: "A tray or reel list.", completion: .file()) var file: String?
    @Flag(name: .long, help: "Queue the good lines of a file with errors.") var skipBad = false
    @Argument(help: "DEVICE_ID[,ICCID][,SERIAL]") var devices: [String] = []

    func run() async throws {
        guard file != nil || !devices.isEmpty else { throw ValidationError("Name devices, or a tray file with --file.") }
        let config = try options.loadConfig()
        var text = devices.joined(separator: "\n")
        if let file { text = try CommandFailure.text(file, what: "tray file") + (text.isEmpty ? "" : "\n" + text) }
        let (entries, errors) = TrayFile.parse(text)
        for error in errors { printError("BAD \(file.map { "\($0) " } ?? "")\(error)") }
        if !errors.isEmpty && !skipBad {
            throw CommandFailure(.dataError, "TRAY-INVALID", "nothing queued: \(errors.count) bad line\(errors.count == 1 ? "" : "s"); fix them, or pass --skip-bad to queue the \(entries.count) good one\(entries.count == 1 ? "" : "s")")
        }
        let store = try options.openStore(config, create: true)
        let destination: Destination = config?.fallback.policy == .always ? .testAccount : .product
        let records = entries.map { entry in
            DeviceRecord(deviceID: entry.deviceID.rawValue, serial: entry.serial?.rawValue, iccid: entry.iccid?.rawValue,
                         platformID: config.map { Int($0.product.platform.id.rawValue) }, stationID: config?.station.id ?? "manual")
        }
        // All of the file or none of it (one transaction): a kill midway queues nothing.
        let added: Int
        do { added = try store.enqueueAll(records, destination: destination, importSIM: config?.cloud.importSIMs ?? true) } catch {
            throw CommandFailure.from(error)!
        }
        print("queued \(added) device\(added == 1 ? "" : "s") for the \(destination.rawValue)" + (entries.count > added ? " (\(entries.count - added) already queued)" : "") + " in \(store.path)")
        if !errors.isEmpty { throw StationExitCode.failed.exitCode }
    }
}

struct QueueStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Pending, done, needing attention (with reasons), and one device's history.")

    @OptionGroup var options: StoreOptions
    @Option(name: .long, help: "Show this device's attempts.") var device: String?

    func run() async throws {
        let store = try options.openStore(try options.loadConfig(), create: false)
        do {
            print("store: \(store.path)")
            let counts = try store.counts()
            print(ItemState.allCases.map { "\($0.rawValue): \(counts[$0] ?? 0)" }.joined(separator: "  "))
            if let lease = try store.lease(), lease.expires > Date() { print("syncing now: \(lease.holder)") }
            for item in try store.items(state: .attention) { print("needs attention  \(item.deviceID)  \(item.reason ?? "")") }
            for item in try store.items(state: .pendingMigration) { print("pending migration  \(item.deviceID)  \(item.reason ?? "")") }
            if let device {
                guard let item = try store.items().first(where: { $0.deviceID == device.lowercased() }) else {
                    throw CommandFailure(.failed, "QUEUE-NO-DEVICE", "\(device) is not in the queue of \(store.path); check the device ID, or name the station that provisioned it")
                }
                print("\(item.deviceID): \(item.state.rawValue) (\(item.destination.rawValue)), \(item.attempts) attempt(s)" + (item.reason.map { ": \($0)" } ?? ""))
                let format = ISO8601DateFormatter()
                for (attempt, outcome) in try store.history(item.deviceID) {
                    print("  \(format.string(from: attempt.at))  \(attempt.kind)  HTTP \(attempt.httpStatus.map(String.init) ?? "-")  \(attempt.outcome)  -> \(outcome)")
                }
            }
        } catch let error as StoreError {
            throw CommandFailure.from(error)!
        }
    }
}

struct QueueSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Import queued devices into the product until the queue is drained or blocked.",
        discussion: "--api-url, --product and --token-file override the config, to point the client at any server speaking the API.")

    @OptionGroup var options: StoreOptions
    @Option(name: .long, help: "API base URL (https; http only to loopback).") var apiURL: String?
    @Option(name: .long, help: "Product ID or slug.") var product: String?
    @Option(name: .long, help: "A file holding just the product token (owner-only).", completion: .file()) var tokenFile: String?
    @Option(name: .long, help: "Stop retrying after this many seconds of failures (default: keep going until drained).") var giveUpAfter: Int?

    func validate() throws {
        guard options.config != nil || (apiURL != nil && product != nil && tokenFile != nil) else {
            throw ValidationError("Name the station with --config, or give --api-url, --product and --token-file.")
        }
    }

    func run() async throws {
        let config = try options.loadConfig()
        let credentials: Credentials? = try config.flatMap { config in
            tokenFile == nil ? try ConfigFiles.credentials(for: config, configPath: options.config!) : nil
        }
        let productToken = try tokenFile.map(ConfigFiles.token) ?? credentials?.productToken
        let base = apiURL ?? config?.cloud.apiBaseURL.absoluteString ?? StationConfig.defaultAPIBaseURL.absoluteString
        let transport = CurlHTTPTransport()
        let store = try options.openStore(config, create: true)
        let settings = SyncWorker.Settings(
            product: ProductKey(product ?? config!.product.product.description), batchSize: config?.cloud.batchSize ?? 50,
            importSIMs: config?.cloud.importSIMs ?? true, nameFromSerial: config?.cloud.nameFromSerial ?? false, shipmentGroup: config?.cloud.shipmentGroup,
            fallback: config?.fallback ?? .init(policy: .off), giveUpAfter: giveUpAfter.map { .seconds($0) },
            freeDeviceLimit: config?.product.freePlan == true ? StationConfig.freePlanDeviceLimit : nil)
        let worker = SyncWorker(
            store: store, product: productToken.map { ParticleCloudClient(transport: transport, baseURL: base, token: $0) },
            testAccount: credentials?.testAccountToken.map { ParticleCloudClient(transport: transport, baseURL: base, token: $0) }, settings: settings)
        let report: SyncWorker.Report
        do {
            report = try await worker.run()
        } catch {
            throw CommandFailure.from(error)!
        }
        print("\(report.requests) request(s): \(report.imported) imported, \(report.alreadyPresent) already in the product, "
              + "\(report.toTestAccount) to the test account, \(report.needAttention) need attention")
        switch report.stop {
        case .drained:
            print("queue drained")
        case .blocked(let error):
            throw CommandFailure(.failed, "QUEUE-BLOCKED", "\(error)")
        case .gaveUp(let error):
            throw CommandFailure(.failed, "QUEUE-GAVE-UP", "gave up, the devices stay queued: \(error)")
        case .stoppedByCaller:
            print("stopped")
        case .leaseHeld(let holder):
            throw CommandFailure(.unavailable, "QUEUE-LEASE-HELD", "another station process is syncing \(store.path) (\(holder)); nothing done. Wait for it, or stop it and retry")
        }
    }
}

struct QueueRetryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retry", abstract: "Put devices needing attention (or in another state) back in the queue.",
        discussion: "--from pending-migration retries the test-account step, e.g. to claim devices that have come online since.")

    @OptionGroup var options: StoreOptions
    @Option(name: .long, help: "The state to take devices from: attention (default), pending-migration or done.") var from = "attention"
    @Argument(help: "Device IDs (default: every device in that state).") var devices: [String] = []

    func validate() throws {
        guard let state = ItemState(rawValue: from), state != .pending else {
            throw ValidationError("--from '\(from)': use attention, pending-migration or done.")
        }
    }

    func run() async throws {
        let store = try options.openStore(try options.loadConfig(), create: false)
        let count = try store.retry(devices.isEmpty ? nil : devices.map { $0.lowercased() }, from: ItemState(rawValue: from)!)
        print("\(count) device(s) queued again")
    }
}

struct QueueMigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Move devices handled under the test account into the product.",
        discussion: """
            Per device: unclaim from the test account; for SKUs whose SIM reactivates fast, release the SIM \
            and import device and SIM into the product; for slow or unknown SKUs, import without releasing \
            (the test account must be a member of the product's team). Needs both tokens in the credentials file.
            """)

    @OptionGroup var options: StoreOptions

    func validate() throws {
        guard options.config != nil else { throw ValidationError("migrate needs --config: the product, the line's SKU and both tokens come from it.") }
    }

    func run() async throws {
        guard let config = try options.loadConfig(), let configPath = options.config else { return }
        let credentials = try ConfigFiles.credentials(for: config, configPath: configPath)
        guard let testToken = credentials.testAccountToken else {
            throw CommandFailure(.dataError, "CREDENTIALS-INVALID", "migrate needs test_account_token in the credentials file too")
        }
        let store = try options.openStore(config, create: false)
        let transport = CurlHTTPTransport()
        let base = config.cloud.apiBaseURL.absoluteString
        let migration = Migration(
            store: store, product: ParticleCloudClient(transport: transport, baseURL: base, token: credentials.productToken),
            testAccount: ParticleCloudClient(transport: transport, baseURL: base, token: testToken),
            productKey: ProductKey(config.product.product.description), lineSKU: config.product.skus.count == 1 ? config.product.skus[0] : nil)
        let result: Migration.Result
        do { result = try await migration.run() } catch {
            throw CommandFailure.from(error)!
        }
        print("migrated \(result.migrated.count) device(s) into the product")
        for (device, reason) in result.failed { print("NOT MIGRATED \(device): \(reason)") }
        if !result.failed.isEmpty { throw StationExitCode.failed.exitCode }
    }
}

struct QueueExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Write the queue as CSV.")

    @OptionGroup var options: StoreOptions
    @Option(name: .long, help: "Output file (default: standard output).") var out: String?

    func run() async throws {
        let config = try options.loadConfig()
        let store = try options.openStore(config, create: false)
        let format = ISO8601DateFormatter()
        var lines = ["device_id,serial,iccid,state,destination,attempts,enqueued_at,reason"]
        for item in try store.items() {
            let fields = [item.deviceID, item.serial ?? "", item.iccid ?? "", item.state.rawValue, item.destination.rawValue, String(item.attempts),
                          format.string(from: item.enqueuedAt), item.reason ?? ""]
            lines.append(fields.map(CSVWriter.field).joined(separator: ","))
        }
        let text = lines.joined(separator: "\r\n") + "\r\n"
        if let out {
            do { try PrivateFile.write(Data(text.utf8), to: out, group: config?.storeGroup) } catch {
                throw CommandFailure.unwritable(out, detail: error.detail)
            }
            print("\(lines.count - 1) device(s) from \(store.path) written to \(out)")
        } else {
            printError("store: \(store.path)")
            print(text, terminator: "")
        }
    }
}
