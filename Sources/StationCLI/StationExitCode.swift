import ArgumentParser

/// The exit codes of every `station` command. Documented once, in the README's table; a test
/// keeps the two in step.
public enum StationExitCode: Int32, CaseIterable, Sendable {
    /// Everything asked for succeeded.
    case success = 0
    /// The command ran and found a failure: a file that does not parse, a doctor finding
    /// that blocks provisioning, a device that failed.
    case failed = 1
    /// The command line is wrong (unknown option, missing argument): see `--help`.
    case usage = 64
    /// An input file (station config, manifest, credentials) is invalid.
    case dataError = 65
    /// Something the command needs is unavailable (no USB access, store locked).
    case unavailable = 69
    /// An internal error: a bug in the station. Report it with the output.
    case software = 70
    /// A file could not be read or written.
    case ioError = 74

    /// What the README says about the code.
    public var meaning: String {
        switch self {
        case .success: "success: everything asked for succeeded"
        case .failed: "the command ran and found a failure (a file that does not parse, a doctor finding that blocks provisioning, a failed device)"
        case .usage: "the command line is wrong; see `station help <command>`"
        case .dataError: "an input file (station config, manifest, credentials, tray file) is invalid; the message names the key, or the line and column (TOML) or line and byte offset (not UTF-8)"
        case .unavailable: "something needed is unavailable (USB access, the station store)"
        case .software: "internal error in the station; report it with the output"
        case .ioError: "a file could not be read or written"
        }
    }

    var exitCode: ExitCode { ExitCode(rawValue) }
}
