import ControlRequests
import FirmwareModules
import ParticleDevices

/// Why a control-request update did not complete.
public struct ControlUpdateError: Error, Hashable, Sendable, CustomStringConvertible {
    public let code: String
    public let step: String
    public let message: String

    public var description: String { "\(step): \(message)" }
}

/// What happened to one control-request step.
public enum ControlUpdateEvent: Hashable, Sendable {
    case started(step: String, index: Int, count: Int)
    case sent(step: String, bytes: Int, total: Int)
    case resetting(step: String)
    case verified(step: String, module: ModuleIdentity)
    case setupDone(release: String)
}

/// The control-request firmware update the flash plan marks for bootloader, NCP and asset
/// modules: listening mode first (as particle-cli does), START (250) → DATA (253) in the
/// device's chunk size → FINISH (251); the device validates, replies, resets and applies the
/// module. The station reconnects after the reset, puts the device back in listening mode
/// (the no-cloud rule) and verifies with module info (90) that the module is there and valid.
public struct ControlRequestUpdate<C: Clock<Duration>>: Sendable {
    public let clock: C
    /// How long a device may take to reset, apply and come back.
    public let comeBackWithin: Duration
    public let capabilities: DeviceOSCapabilities

    public init(clock: C, comeBackWithin: Duration = .seconds(30), capabilities: DeviceOSCapabilities = .bundled) {
        self.clock = clock
        self.comeBackWithin = comeBackWithin
        self.capabilities = capabilities
    }

    /// Runs `steps` (the plan's control-request steps, in order). `connect` reaches the device
    /// in normal mode (again after each reset); it may fail while the device is away.
    /// Returns the control channel to the device as it is at the end.
    public func run(_ steps: [FlashStep], connect: @Sendable () async throws -> ControlRequests,
                    events: @Sendable (ControlUpdateEvent) -> Void) async throws(ControlUpdateError) -> ControlRequests {
        var requests = try await reach(connect, step: "connect")
        for (index, step) in steps.enumerated() {
            guard case .module(let identity) = step.kind, step.path == .controlRequest else { continue }
            events(.started(step: step.name, index: index, count: steps.count))
            do throws(ControlRequestError) {
                try await requests.startListening()
                try? await clock.sleep(for: .milliseconds(200), tolerance: nil)
                let total = step.bytes.count
                try await requests.updateFirmware(step.bytes) { sent in events(.sent(step: step.name, bytes: sent, total: total)) }
            } catch {
                throw ControlUpdateError(code: error.code, step: step.name, message: "the update was refused or interrupted: \(error.description)")
            }
            events(.resetting(step: step.name))
            // The device replies, then resets about a second later: wait for it to leave
            // before reconnecting, so the old connection is not mistaken for the new one.
            try? await clock.sleep(for: .milliseconds(1500), tolerance: nil)
            requests = try await reach(connect, step: step.name)
            let modules: [DeviceModule]
            do throws(ControlRequestError) {
                try await requests.startListening()
                modules = try await requests.modules()
            } catch {
                throw ControlUpdateError(code: error.code, step: step.name, message: "could not read the modules back after the update: \(error.description)")
            }
            guard let found = modules.first(where: { $0.function == identity.function && $0.index == identity.index }) else {
                throw ControlUpdateError(code: "UPDATE-NOT-APPLIED", step: step.name,
                                         message: "after the reset the device reports no \(identity.function.name) module. Retry the update; if it fails again, set the device aside")
            }
            guard found.version == identity.version else {
                throw ControlUpdateError(code: "UPDATE-NOT-APPLIED", step: step.name,
                                         message: "after the reset the device still reports \(identity.function.name) version \(found.version), not \(identity.version). Retry the update; if it fails again, set the device aside")
            }
            guard found.isValid else {
                throw ControlUpdateError(code: "UPDATE-INVALID", step: step.name,
                                         message: "the device reports the new \(identity.function.name) as invalid (failed checks 0x\(String(found.failures, radix: 16))). Re-flash it; do not ship the device")
            }
            events(.verified(step: step.name, module: identity))
        }
        return requests
    }

    /// Gen 3 devices on Device OS below 4.0 boot into listening mode at the customer unless
    /// setup-done is set (request 73); from 4.0 the flag is gone. Sets it where the running
    /// release has it and reads it back (74). Returns the release when it was set.
    public func markSetupDone(_ requests: ControlRequests, platform: Platform) async throws(ControlUpdateError) -> String? {
        let release: String
        do throws(ControlRequestError) { release = try await requests.systemVersion() } catch {
            throw ControlUpdateError(code: error.code, step: "setup done", message: "could not read the Device OS version: \(error.description)")
        }
        guard let parsed = DeviceOSRelease(release), capabilities.supports(.setupDoneBit, parsed, platform: platform.name) else { return nil }
        let done: Bool
        do throws(ControlRequestError) {
            try await requests.setSetupDone(true)
            done = try await requests.isSetupDone()
        } catch {
            throw ControlUpdateError(code: error.code, step: "setup done", message: "request 73 failed: \(error.description)")
        }
        guard done else {
            throw ControlUpdateError(code: "SETUP-DONE-NOT-SET", step: "setup done",
                                     message: "the device still reports setup not done after request 73; it would boot into listening mode at the customer. Retry; if it persists, set the device aside")
        }
        return release
    }

    func reach(_ connect: @Sendable () async throws -> ControlRequests, step: String) async throws(ControlUpdateError) -> ControlRequests {
        let start = clock.now
        var last = "no attempt"
        while start.duration(to: clock.now) < comeBackWithin {
            do {
                let requests = try await connect()
                _ = try await requests.deviceID()
                return requests
            } catch {
                last = "\(error)"
                try? await clock.sleep(for: .milliseconds(250), tolerance: nil)
            }
        }
        throw ControlUpdateError(code: "UPDATE-DEVICE-GONE", step: step,
                                 message: "the device did not come back in normal mode within \(comeBackWithin) (last: \(last)). Check the cable; replug the device and run the flash again")
    }
}
