import ControlRequests
import ParticleDevices
import Seams

/// How the station keeps devices off the cloud (a device's first connection starts billing).
public struct NoCloudPolicy: Hashable, Sendable {
    /// Where a device is left when the station is done with it.
    /// Where a device is left (the one final-state enum, `ParticleDevices.FinalState`).
    public typealias FinalState = ParticleDevices.FinalState

    /// A normal-mode device must be stopped within this time of its arrival.
    public var bound: Duration
    public var finalState: FinalState
    /// Only a line explicitly configured for an end-to-end connectivity test under a test
    /// account lets devices connect; then the guard stands aside.
    public var connectivityTest: Bool
    /// How often a held device's mode is checked (a button press or a reset can take it out
    /// of listening mode).
    public var recheckEvery: Duration
    /// How long to keep trying to reach a device that arrived (opening can fail while the
    /// kernel is still binding drivers) before reporting it as not guarded.
    public var giveUpAfter: Duration

    public init(bound: Duration = .seconds(1), finalState: FinalState = .listening, connectivityTest: Bool = false,
                recheckEvery: Duration = .seconds(2), giveUpAfter: Duration = .seconds(10)) {
        self.bound = bound
        self.finalState = finalState
        self.connectivityTest = connectivityTest
        self.recheckEvery = recheckEvery
        self.giveUpAfter = giveUpAfter
    }
}

/// What the guard did for one arrival.
public struct GuardReport: Hashable, Sendable {
    public enum Action: Hashable, Sendable {
        /// Request 70: it is in listening mode and will not connect.
        case listening
        /// The device cannot start listening over USB; its cloud connection was aborted
        /// (legacy request 0x50/302).
        case cloudAborted
        /// In DFU mode: no firmware runs, nothing to stop.
        case dfu
        /// The line runs the connectivity test: the device may connect.
        case allowed
        /// It could not be stopped: the technician must unplug it.
        case failed(code: String, message: String)
    }

    public let port: String
    public let action: Action
    /// From arrival to the device's confirmation.
    public let latency: Duration
    public let bound: Duration
    /// Stopped, and in time.
    public var withinBound: Bool { stopped && latency <= bound }
    public var stopped: Bool {
        switch action {
        case .listening, .cloudAborted, .dfu: true
        case .allowed, .failed: false
        }
    }
}

/// The no-cloud guard: every device that arrives in normal mode is put in listening mode
/// within the policy's bound (or has its cloud connection aborted where it cannot listen),
/// kept there while the station handles it, and left in the policy's final state. Pure over
/// the control-request seam; the caller says when the device arrived and how to reach it.
public struct NoCloudGuard<C: Clock<Duration>>: Sendable {
    public let policy: NoCloudPolicy
    public let clock: C

    public init(policy: NoCloudPolicy = NoCloudPolicy(), clock: C) {
        self.policy = policy
        self.clock = clock
    }

    /// Stops the cloud attempt of a device that arrived at `arrivedAt`. `open` reaches the
    /// device (it is retried until it works or `giveUpAfter` passes); `legacy` is the raw
    /// request path for Device OS that cannot listen on request.
    public func stop(port: String, arrivedAt: C.Instant, inDFU: Bool = false,
                     open: @Sendable () async throws -> (ControlRequests, LegacyRequests?)) async -> GuardReport {
        func report(_ action: GuardReport.Action) -> GuardReport {
            GuardReport(port: port, action: action, latency: arrivedAt.duration(to: clock.now), bound: policy.bound)
        }
        if inDFU { return report(.dfu) }
        if policy.connectivityTest { return report(.allowed) }
        var last = GuardReport.Action.failed(code: "GUARD-UNREACHABLE", message: "the device could not be reached over USB")
        var delay = Duration.milliseconds(20)
        while arrivedAt.duration(to: clock.now) < policy.giveUpAfter {
            let channels: (ControlRequests, LegacyRequests?)
            do { channels = try await open() } catch {
                last = .failed(code: "GUARD-UNREACHABLE", message: "could not open the device: \(error)")
                try? await clock.sleep(for: delay, tolerance: nil)
                delay = min(delay * 2, .milliseconds(200))
                continue
            }
            do throws(ControlRequestError) {
                try await channels.0.startListening()
                return report(.listening)
            } catch {
                last = .failed(code: error.code, message: error.description)
                // A protected unit refuses every request but its device ID and protection
                // state (DEVICE_PROTECTED): nothing over USB keeps it off the cloud.
                if error.isDeviceProtected { return report(.failed(code: Self.protectedCode, message: Self.protectedMessage)) }
                if error.code == "CTRL-NOT-SUPPORTED" || error.code == "CTRL-NOT-ALLOWED", let legacy = channels.1 {
                    do throws(ControlRequestError) {
                        try await legacy.abortCloudConnection()
                        return report(.cloudAborted)
                    } catch {
                        last = .failed(code: error.code, message: "listening mode refused, and the cloud abort failed: \(error.description)")
                    }
                }
                // A transfer that failed (the device may be re-enumerating, or busy) is tried
                // again; a refusal by the device is not.
                if case .transfer = error.kind { try? await clock.sleep(for: delay, tolerance: nil) } else { break }
            }
        }
        return report(last)
    }

    /// The guard's failure for a protected unit (Device Protection).
    public static var protectedCode: String { "GUARD-PROTECTED" }
    static var protectedMessage: String {
        "the unit is protected (Device Protection): over USB it answers only its device ID and protection state, so the station cannot put it in listening mode. Route it to the online rework bench"
    }

    /// Keeps a guarded device in listening mode until it leaves the bus or the task is
    /// cancelled: checks its mode every `recheckEvery` and starts listening again if it left.
    /// `note` hears each re-application.
    public func hold(_ requests: ControlRequests, note: @Sendable (String) -> Void) async {
        while !Task.isCancelled {
            do { try await clock.sleep(for: policy.recheckEvery, tolerance: nil) } catch { return }
            do throws(ControlRequestError) {
                if try await requests.isListening() { continue }
                try await requests.startListening()
                note("it had left listening mode; listening again")
            } catch {
                // Only a device that left ends the hold; a STALL or a timeout is noted and
                // the hold goes on (it used to end it, leaving the device unwatched).
                if error.cause == .noDevice { return }
                note("mode check failed: \(error.description)")
            }
        }
    }

    /// Puts the device in the policy's final state: listening (confirmed by request 72) or
    /// DFU (request 50; the device re-enumerates about a second later). With the
    /// connectivity test, the device is left as it is.
    public func leave(_ requests: ControlRequests) async throws(ControlRequestError) {
        guard !policy.connectivityTest else { return }
        try await policy.finalState.apply(to: requests)
    }
}
