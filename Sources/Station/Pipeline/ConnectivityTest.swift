import ControlRequests
import ParticleDevices
import Seams

/// The end-to-end connectivity test of a line configured for it, under the test account:
/// first `activate` waits until the device's import has gone through (its SIM active; a
/// cellular device cannot connect without it), then the device is let out of listening mode,
/// must be seen online by the cloud within `within`, and is put back in its final state. On
/// every other line the station never lets a device connect.
public struct ConnectivityTest: Sendable {
    public let link: any DeviceLink
    /// Whether the cloud sees the device online now (the test account's view).
    public let isOnline: @Sendable (DeviceID) async throws -> Bool
    public let within: Duration
    /// What its waits are measured on (the real clock at the top, a test clock in tests).
    public let clock: any Clock<Duration>
    /// Returns when the device may connect (its SIM activated under the test account);
    /// throws a `StepFailure` saying what to do otherwise.
    public let activate: @Sendable (DeviceID) async throws -> Void

    public init(link: any DeviceLink, within: Duration = .seconds(120), clock: any Clock<Duration> = ContinuousClock(),
                activate: @escaping @Sendable (DeviceID) async throws -> Void, isOnline: @escaping @Sendable (DeviceID) async throws -> Bool) {
        self.link = link
        self.clock = clock
        self.isOnline = isOnline
        self.within = within
        self.activate = activate
    }

    /// Nil when the device came online; otherwise why not.
    public func run(deviceID: DeviceID, finalState: NoCloudPolicy.FinalState) async -> StepFailure? {
        do { try await activate(deviceID) } catch let failure as StepFailure { return failure } catch {
            return StepFailure("CONNECTIVITY-ACTIVATION", "the device's SIM could not be activated under the test account: \(error)")
        }
        let requests: ControlRequests
        do {
            if let normal = try? await link.normal(deviceID, within: .seconds(2)) {
                requests = normal
            } else {
                // Left in DFU mode by the finish step: start it.
                _ = try await link.dfu(deviceID, within: .seconds(2)).leave()
                requests = try await link.normal(deviceID, within: .seconds(30))
            }
            try await requests.stopListening()
        } catch {
            return StepFailure("CONNECTIVITY-UNREACHABLE", "could not let the device connect: \(error)", deviceGone: StepFailure.isGone(error))
        }
        let deadline = Deadline(after: within, on: clock)
        var online = false
        var lastError: String?
        while !deadline.hasPassed {
            do {
                if try await isOnline(deviceID) {
                    online = true
                    break
                }
            } catch {
                lastError = "\(error)"
            }
            try? await clock.sleep(for: .milliseconds(500))
        }
        // Back to the final state whatever happened: it must not stay connected.
        do {
            try await finalState.apply(to: requests)
            // DFU mode is reported only once it is there (the bench may hear of it later).
            if finalState == .dfu { _ = try await link.dfu(deviceID, within: .seconds(20)) }
        } catch {
            return StepFailure("CONNECTIVITY-FINAL-STATE", "the device connected but could not be put back in \(finalState.rawValue) mode: \(error). Unplug it",
                               deviceGone: StepFailure.isGone(error))
        }
        guard online else {
            return StepFailure("CONNECTIVITY-TIMEOUT", "the test account did not see the device online within \(within)"
                               + (lastError.map { " (last cloud error: \($0))" } ?? "") + ". Check the antenna, the SIM and the signal, then re-run")
        }
        return nil
    }
}
