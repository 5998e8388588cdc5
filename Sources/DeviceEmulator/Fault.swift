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
