import Clocks
@testable import ControlRequests
import DFU
import ParticleDevices
@testable import ListeningConsole
import Seams
@testable import Station
import Testing

/// Issue 15, point 2: "device gone" was decided by matching an error's text, and the guard
/// took any failed transfer (a STALL or a timeout too) for an unplug. Now every
/// device-facing error has a typed cause, and only `.noDevice` means gone.
@Suite struct DeviceCauseTests {
    static func dfu(_ error: USBTransferError) -> DFUError { DFUError(operation: "download", kind: .transfer(error), device: "1-1", alt: 0) }
    static func control(_ kind: ControlRequestError.Kind) -> ControlRequestError { ControlRequestError(request: "start listening (70)", device: "1-1", kind: kind) }

    @Test func onlyANoDeviceCauseIsGone() {
        let gone: [any Error] = [Self.dfu(.noDevice), Self.control(.transfer(.noDevice)), LinkUnavailable(deviceID: try! DeviceID("e00fce68ae40e8a1f5b40001"), mode: "dfu"),
                                 ConsoleError(port: "/dev/ttyACM0", kind: .stream(.closed("/dev/ttyACM0")))]
        let faults: [any Error] = [Self.dfu(.stall), Self.dfu(.timeout), Self.control(.transfer(.stall)), Self.control(.transfer(.timeout)),
                                   // Text that used to match: "no device" in a message is not a cause.
                                   Self.control(.decode("the reply says no device is gone NO-DEVICE")),
                                   ConsoleError(port: "/dev/ttyACM0", kind: .noAnswer(key: "i"))]
        for error in gone { #expect(Provisioner<ContinuousClock>.gone(error), "\(error)") }
        for error in faults { #expect(!Provisioner<ContinuousClock>.gone(error), "\(error)") }
    }

    @Test func aStallOrATimeoutHasItsOwnCode() {
        #expect(Self.control(.transfer(.stall)).code == "CTRL-USB-STALL")
        #expect(Self.control(.transfer(.timeout)).code == "CTRL-USB-TIMEOUT")
        #expect(Self.control(.transfer(.noDevice)).code == "CTRL-USB-GONE")
        for code in ["CTRL-USB-STALL", "CTRL-USB-TIMEOUT", "CTRL-USB-GONE"] { #expect(FailureTable.entry(for: code) != nil, "\(code) in the table") }
    }

    /// A device whose transfers fail: `stalls` times STALL, then gone.
    actor Failing: USBControlTransport {
        nonisolated let deviceName = "failing"
        var stalls: Int
        init(stalls: Int) { self.stalls = stalls }
        func control(_ setup: ControlSetup, data: [UInt8], timeout: Duration) async throws(USBTransferError) -> [UInt8] {
            if stalls > 0 {
                stalls -= 1
                throw .stall
            }
            throw .noDevice
        }
    }

    @Test func theHoldGoesOnThroughAStallAndEndsWhenTheDeviceIsGone() async {
        let requests = ControlRequests(channel: ControlChannel(transport: Failing(stalls: 6), clock: ImmediateClock()))
        let notes = Notes()
        await NoCloudGuard(clock: ImmediateClock()).hold(requests) { notes.add($0) }
        #expect(notes.all.contains { $0.contains("mode check failed") }, "a STALL is noted and the hold goes on: \(notes.all)")
    }
}

