import Seams
import ArgumentParser
import DeviceEmulator
import EmulatedBench
import Foundation
import ParticleDevices
import Station

/// `station benchmark ...`: benchmarks (not tests), on the real clock. ("bench" is the
/// workbench; the benchmarks are named apart from it.)
struct BenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark", abstract: "Benchmarks against the emulator's physical floor.",
        subcommands: [FlashBenchmarkCommand.self, PipelineBenchmarkCommand.self, QueueBenchmarkCommand.self, LineDatabaseBenchmarkCommand.self, DashboardBenchmarkCommand.self])
}

/// The benchmarks' spellings before they moved under `benchmark` (`station bench flash`,
/// `bench queue`, `bench line`): hidden, kept so existing scripts go on working.
struct LegacyBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench", abstract: "Old name of `station benchmark`.", shouldDisplay: false,
        subcommands: [HiddenAlias<FlashBenchmarkCommand>.self, HiddenAlias<QueueBenchmarkCommand>.self, HiddenAlias<PipelineBenchmarkCommand>.self])
}

/// A command whose old name is kept as a hidden alias.
protocol RenamedCommand: AsyncParsableCommand, JSONOutputCommand {
    static var oldName: String { get }
}

extension FlashBenchmarkCommand: RenamedCommand { static var oldName: String { "flash" } }
extension QueueBenchmarkCommand: RenamedCommand { static var oldName: String { "queue" } }
extension PipelineBenchmarkCommand: RenamedCommand { static var oldName: String { "line" } }

/// `Command` under its old name, hidden from help: the same options, validation and run.
struct HiddenAlias<Command: RenamedCommand>: AsyncParsableCommand, JSONOutputCommand {
    static var configuration: CommandConfiguration {
        CommandConfiguration(commandName: Command.oldName, abstract: Command.configuration.abstract, shouldDisplay: false)
    }

    @OptionGroup var command: Command

    var printsJSON: Bool { command.printsJSON }

    mutating func run() async throws { try await command.run() }
}

/// One platform's figures.
struct FlashBenchResult: Codable, Sendable {
    var platform: String
    var fullSeconds: Double
    var floorSeconds: Double
    var fullRatio: Double
    var reflashSeconds: Double
    var reflashFloorSeconds: Double
    var reflashRatio: Double
    var pagesErased: Int
    var bytesProgrammed: Int
    var bytesTransferred: Int
    var controlTransfers: Int
    var reflashBytesTransferred: Int
    var reflashControlTransfers: Int
}

/// `station benchmark flash`: a full Device OS + application set into emulated devices whose
/// timing model really sleeps, so host overhead counts; then the same content again.
struct FlashBenchmarkCommand: AsyncParsableCommand, JSONOutputCommand {
    var printsJSON: Bool { json }
    static let configuration = CommandConfiguration(
        commandName: "flash",
        abstract: "Time a full flash and a re-flash per platform against the physical floor.",
        discussion: """
            The floor is what the emulator's timing model charges: MCU datasheet erase and \
            program times plus full-speed USB (about 1 MB/s of control payload and 1 ms per \
            control transfer), including the read-back for verification. fullRatio = measured / \
            floor; reflashRatio = re-flash time / full-flash time. Takes a few minutes at --scale 1.
            """)

    @Flag(name: .long, help: "Print a JSON array, one object per platform.")
    var json = false

    @Option(name: .long, help: "Only these platforms (repeatable); default: all six.")
    var platform: [String] = []

    @Option(name: .long, help: "Scale module sizes (1 = realistic Device OS sizes).")
    var scale: Double = 1

    func validate() throws {
        for name in platform where PlatformCatalog.bundled.platform(named: name)?.isProvisionable != true {
            throw ValidationError("--platform '\(name)' is not a platform the station provisions.")
        }
        guard scale > 0, scale <= 4 else { throw ValidationError("--scale must be above 0 and at most 4.") }
    }

    func run() async throws {
        let names = platform.isEmpty ? ["boron", "bsom", "b5som", "esomx", "tracker", "electron"] : platform
        var results: [FlashBenchResult] = []
        for name in names {
            let target = PlatformCatalog.bundled.platform(named: name)!
            let result = try await Self.measure(target, scale: scale)
            results.append(result)
            if !json {
                print(String(
                    format: "%-9@ full %7.2f s  floor %7.2f s  ratio %.3f | reflash %6.2f s  ratio %.3f of full | erased %d pages, programmed %d B, transferred %d B in %d transfers",
                    result.platform, result.fullSeconds, result.floorSeconds, result.fullRatio, result.reflashSeconds, result.reflashRatio,
                    result.pagesErased, result.bytesProgrammed, result.bytesTransferred, result.controlTransfers))
            }
        }
        if json { print(try JSONOutput.render(results)) }
    }

    static func measure(_ platform: Platform, scale: Double) async throws -> FlashBenchResult {
        let set = try EmulatedFlash.demoSet(for: platform, scale: scale)
        let timing: FlashTiming = platform.mcu == .stm32f205 ? .stm32f205 : .nrf52840
        let bench = try await EmulatedFlash(platform: platform, timing: timing, preload: set.preload)
        let clock = ContinuousClock()

        func pass() async throws -> (Duration, FlashCounters) {
            await bench.device.resetCounters()
            let start = clock.now
            let outcomes = try await bench.flash(set.flash)
            let elapsed = start.duration(to: clock.now)
            guard !outcomes.isEmpty else { throw StationExitCode.software.exitCode }
            return (elapsed, await bench.device.counters)
        }
        let (full, fullCounters) = try await pass()
        guard await bench.device.bootReport().bootable else {
            throw CommandFailure(.software, "INTERNAL", "\(platform.name) does not boot after the benchmark flash")
        }
        let (again, againCounters) = try await pass()
        let fullSeconds = full.inSeconds, floor = fullCounters.floor.inSeconds, reflash = again.inSeconds
        return FlashBenchResult(
            platform: platform.name, fullSeconds: fullSeconds, floorSeconds: floor, fullRatio: fullSeconds / floor,
            reflashSeconds: reflash, reflashFloorSeconds: againCounters.floor.inSeconds, reflashRatio: reflash / fullSeconds,
            pagesErased: fullCounters.pagesErased, bytesProgrammed: fullCounters.bytesProgrammed,
            bytesTransferred: fullCounters.bytesTransferred, controlTransfers: fullCounters.controlTransfers,
            reflashBytesTransferred: againCounters.bytesTransferred, reflashControlTransfers: againCounters.controlTransfers)
    }
}

