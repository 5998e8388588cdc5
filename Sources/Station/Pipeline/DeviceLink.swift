import ControlRequests
import DFU
import Foundation
import FirmwareModules
import ListeningConsole
import ParticleDevices
import Seams

/// How the pipeline reaches one device in either mode. A mode switch re-enumerates the
/// device, so every call finds it again by device ID; nothing keeps a stale handle.
public protocol DeviceLink: Sendable {
    /// Control requests to the device in normal mode, waiting up to `within` for it to be there.
    func normal(_ deviceID: DeviceID, within: Duration) async throws -> ControlRequests
    /// The device in DFU mode, waiting up to `within` for it to be there.
    func dfu(_ deviceID: DeviceID, within: Duration) async throws -> DfuSeSession
    /// Opens its listening-mode console (normal mode); nil when it has no serial port.
    func console(_ deviceID: DeviceID) async -> (@Sendable () async throws -> ListeningConsole)?
    /// Where the device is now, without waiting.
    func presence(_ deviceID: DeviceID) async -> LinkPresence
}

/// Where a device is on the bus.
public enum LinkPresence: String, Hashable, Sendable {
    case normal, dfu, absent
}

/// The link could not reach the device in the requested mode in time.
public struct LinkUnavailable: DeviceFacingError, Hashable, Sendable, CustomStringConvertible {
    public var cause: DeviceCause { .noDevice }
    public let deviceID: DeviceID
    public let mode: String
    public init(deviceID: DeviceID, mode: String) {
        self.deviceID = deviceID
        self.mode = mode
    }
    public var description: String { "\(deviceID) is not on the bus in \(mode) mode" }
}
