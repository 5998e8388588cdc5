import ArgumentParser
import CShims
import StationCLI

/// The `station` executable: the command tree lives in `StationCLI`.
@main
struct StationMain: AsyncParsableCommand {
    static let configuration = StationCommand.configuration

    /// Standard output is line-buffered even into a pipe or a log file, so progress and
    /// results reach a log (or a script waiting for a line) as they happen.
    static func main() async {
        cshim_stdout_line_buffered()
        await StationRunner.main()
    }
}
