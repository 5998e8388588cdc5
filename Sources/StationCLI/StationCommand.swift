import ArgumentParser

/// `station`: the provisioning station for Particle cellular devices.
public struct StationCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "station",
        abstract: "Provision Particle cellular devices at the flashing bench, with no cloud contact.",
        discussion: "Exit codes are the same for every command; see the README's table.",
        version: StationVersion.current,
        subcommands: [DemoCommand.self, CodesCommand.self, DevicesCommand.self, DoctorCommand.self, RunCommand.self, IdentifyCommand.self, WatchCommand.self, EnterDFUCommand.self, ManifestCommand.self, ReportCommand.self, InspectCommand.self, FlashCommand.self, QueueCommand.self, LineCommand.self, BenchmarkCommand.self, LegacyBenchCommand.self, LabCommand.self])

    public init() {}
}

/// The station's version: `station --version`, `station doctor`.
public enum StationVersion {
    public static let current = "0.13.0"
}
