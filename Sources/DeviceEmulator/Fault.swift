import DFU

/// A fault to inject. Each fires once, so a retry after it can succeed.
public enum Fault: Hashable, Sendable {
    /// The device vanishes after the Nth data chunk (1-based) is written; every transfer
    /// then fails with `.noDevice` until `replug()`.
    case unplugAfterChunk(Int)
    /// The Nth data DNLOAD is answered with STALL (nothing written; state dfuERROR).
    case stallAtChunk(Int)
    /// The GETSTATUS after the Nth data chunk reports this error status (nothing written).
    case statusErrorAtChunk(Int, DFUStatusCode)
    /// Every status reports this bwPollTimeout while busy, and the work takes that long.
    case slowStatus(Duration)
    /// The Nth data chunk is acknowledged but never programmed (a lying status).
    case lyingStatusAtChunk(Int)
    /// Power is lost during the Nth erase: half the page is erased, the rest keeps garbage,
    /// and the device vanishes until `replug()`.
    case powerLossAtErase(Int)
    /// On leaving DFU, the device resets before it answers the status request.
    case vanishOnLeave
    /// The status request after the Nth data chunk is answered only after this long (longer
    /// than the host's transfer timeout: a timeout through the real stack).
    case hangAtChunk(Int, Duration)
}

extension Fault {
    /// One fault as the lab's specs write it: `NAME@N` with N from 1 (`unplug@5`, `stall@3`,
    /// `status@2`, `lying@4`, `hang@6`: data chunks; `powerloss@1`: erases).
    public init(spec text: some StringProtocol) throws(FaultSpecError) {
        let pieces = text.split(separator: "@")
        guard pieces.count == 2, let n = Int(pieces[1]), n > 0 else { throw FaultSpecError(text: String(text), problem: "expected NAME@N with N from 1") }
        switch pieces[0] {
        case "unplug": self = .unplugAfterChunk(n)
        case "stall": self = .stallAtChunk(n)
        case "status": self = .statusErrorAtChunk(n, .errWrite)
        case "lying": self = .lyingStatusAtChunk(n)
        case "hang": self = .hangAtChunk(n, .seconds(8))
        case "powerloss": self = .powerLossAtErase(n)
        default: throw FaultSpecError(text: String(text), problem: "unknown; use unplug, stall, status, lying, hang or powerloss")
        }
    }

    /// A comma-separated list of fault specs (`unplug@5,stall@3`).
    public static func list(spec text: some StringProtocol) throws(FaultSpecError) -> [Fault] {
        var faults: [Fault] = []
        for item in text.split(separator: ",") { faults.append(try Fault(spec: item)) }
        return faults
    }
}

/// A fault spec that does not parse: the text and what is wrong with it.
public struct FaultSpecError: Error, Hashable, Sendable, CustomStringConvertible {
    public let text: String
    public let problem: String
    public var description: String { "fault '\(text)': \(problem)" }
}
