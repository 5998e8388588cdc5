import ArgumentParser
import StationCLI

/// The `station` executable: the command tree lives in `StationCLI`.
@main
struct StationMain: AsyncParsableCommand {
    static let configuration = StationCommand.configuration
}
