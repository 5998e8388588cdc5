import DFU
import FirmwareModules
import Foundation
import ParticleDevices
import Seams

/// A Particle device in normal mode, minimal: the composite the host sees (interfaces 0/1
/// CDC ACM with an interrupt notification endpoint and a bulk data pair, interface 2 the
/// vendor control interface with no endpoints, per-platform strings), enough for the
/// kernel's cdc-acm driver to create `/dev/ttyACM*`. The console and the control requests
/// arrive with the identify issue; a 14400-baud line coding asks for DFU mode, as on a real
/// device.
public actor EmulatedNormalDevice: USBControlTransport {
    public nonisolated let deviceName: String
    public let platform: Platform
    public let deviceID: String
    var attached = true
    /// Set when the host asks for DFU mode (14400 baud); the lab then re-enumerates the
    /// device in DFU mode.
    public internal(set) var dfuRequested = false
    var lineCoding: [UInt8] = [0x00, 0xC2, 0x01, 0x00, 0x00, 0x00, 0x08]  // 115200 8N1
    /// Bytes the host wrote to the serial port.
    public private(set) var received: [UInt8] = []
    var output: [UInt8] = []
    var waiters: [CheckedContinuation<Void, Never>] = []

    /// Who the device is (sticker, SIM, modem, cloud timing), for the console and control
    /// requests.
    public let profile: DeviceProfile
    /// In listening mode (blinking dark blue): the console answers, the cloud is not tried.
    public internal(set) var listening: Bool
    /// The Device OS it runs (what it supports comes from `DeviceOSCapabilities`).
    public let deviceOS: DeviceOSRelease
    /// The modules in its flash, as request 90 and the `s` console command report them.
    public let modules: [EmulatedModule]
    public internal(set) var setupDone: Bool
    let clock: any Clock<Duration>
    let started: ContinuousClock.Instant
    /// Control requests in progress (at most four; more answer BUSY).
    var activeRequests: [UInt16: ActiveRequest] = [:]
    var nextRequestID: UInt16 = 1
    /// A module staged by the control-request firmware update (250, 253...).
    var staged: (expected: Int, bytes: [UInt8])?
    /// What happened, in order, with the time since the device arrived.
    public internal(set) var events: [DeviceEvent] = []
    var cloudTimer: Task<Void, Never>?
    /// True once the device connected to the cloud (billing starts).
    public internal(set) var connected = false
    /// A reset, safe mode or DFU the device performs `resetDelay` after answering; it then
    /// leaves the bus (`isAttached` false) and the lab brings it back in the new mode.
    public internal(set) var pendingReset: PendingReset? {
        didSet { if pendingReset != nil, oldValue == nil { scheduleReset() } }
    }
    /// How long after answering a reset, DFU or safe-mode request the device leaves the bus.
    public let resetDelay: Duration
    /// Modules received by the control-request firmware update (251 accepted them); the
    /// device applies them on its next reset.
    public internal(set) var acceptedUpdates: [FirmwareModule] = []

    public init(platform: Platform, profile: DeviceProfile, listening: Bool = false, deviceOS: String = "6.2.0", modules: [EmulatedModule] = [],
                setupDone: Bool = true, resetDelay: Duration = .seconds(1), clock: any Clock<Duration> = ContinuousClock()) {
        self.platform = platform
        self.profile = profile
        self.listening = listening
        self.deviceOS = DeviceOSRelease(deviceOS) ?? DeviceOSRelease("6.2.0")!
        self.modules = modules
        self.setupDone = setupDone
        self.resetDelay = resetDelay
        self.clock = clock
        started = ContinuousClock.now
        deviceID = profile.deviceID.rawValue
        deviceName = "emulated \(platform.name) \(profile.deviceID) (normal)"
    }

    public var isAttached: Bool { attached }

    public func replug() { attached = true }

    func scheduleReset() {
        let delay = resetDelay, clock = self.clock
        Task { [weak self] in
            try? await clock.sleep(for: delay, tolerance: nil)
            await self?.performReset()
        }
    }

    func performReset() {
        guard let reset = pendingReset else { return }
        stopCloud("reset (\(reset))")
        unplug()
    }

    /// Leaves the bus (a reset): pending reads end, transfers fail with no-device.
    public func unplug() {
        attached = false
        wakeReaders()
    }

    var name: String { platform.usb?.normalProductString?.replacingOccurrences(of: " CDC Mode", with: "") ?? platform.displayName }

    public var deviceDescriptor: [UInt8] {
        // Composite device with interface association (class EF/02/01).
        StandardDescriptors.device(vendorID: 0x2B04, productID: platform.usb?.normalProductID ?? 0, composite: true)
    }

    public var configurationDescriptor: [UInt8] {
        // CDC ACM on interfaces 0 and 1, then the vendor control interface (no endpoints).
        let vendor: [UInt8] = [9, 0x04, 2, 0, 0, 0xFF, 0xFF, 0xFF, 5]
        return StandardDescriptors.configuration(interfaces: 3, maxPower: 250, StandardDescriptors.cdcACM(interfaceString: 4) + vendor)
    }

    func string(_ index: UInt8) -> String? {
        switch index {
        case 1: "Particle"
        case 2: platform.usb?.normalProductString
        case 3: profile.usbSerial ?? deviceID
        case 4: "\(name) Serial"
        case 5: platform.usb?.controlInterfaceString
        default: nil
        }
    }

    public func control(_ setup: ControlSetup, data: [UInt8], timeout: Duration) async throws(USBTransferError) -> [UInt8] {
        guard attached else { throw .noDevice }
        switch (setup.requestType, setup.request) {
        case (0x80, 6):
            return try StandardDescriptors.answer(setup, device: deviceDescriptor, configuration: configurationDescriptor) { string($0) }
        case (0x00, 9), (0x01, 11):
            return []  // SET_CONFIGURATION, SET_INTERFACE
        case (0x21, 0x20):  // SET_LINE_CODING
            guard data.count == 7 else { throw .stall }
            lineCoding = data
            let baud = UInt32(data[0]) | UInt32(data[1]) << 8 | UInt32(data[2]) << 16 | UInt32(data[3]) << 24
            if baud == 14400 {
                dfuRequested = true
                stopCloud("DFU mode requested (14400 baud)")
                if pendingReset == nil { pendingReset = .dfu }
            }
            return []
        case (0xA1, 0x21):  // GET_LINE_CODING
            return Array(lineCoding.prefix(Int(setup.length)))
        case (0x21, 0x22):  // SET_CONTROL_LINE_STATE
            return []
        case (0xC0, 1...5), (0x40, 3):
            return try await service(setup, data: data)
        case (0xC0, 0x50), (0x40, 0x50):
            return try legacy(setup)
        default:
            throw .stall
        }
    }

    /// Host → device bytes on the bulk OUT endpoint. In listening mode each byte is a
    /// console command; outside it the console is silent, as on a real device.
    public func bulkOut(_ data: [UInt8]) {
        received += data
        guard listening else { return }
        for byte in data { send(consoleAnswer(byte)) }
    }

    /// Device → host bytes on the bulk IN endpoint: waits until there is output.
    public func bulkIn(maxLength: Int) async -> [UInt8] {
        while output.isEmpty {
            await withCheckedContinuation { waiters.append($0) }
            if Task.isCancelled { return [] }
        }
        let chunk = Array(output.prefix(maxLength))
        output.removeFirst(chunk.count)
        return chunk
    }

    /// Makes bytes available to the host (the console's replies).
    public func send(_ bytes: [UInt8]) {
        output += bytes
        let ready = waiters
        waiters.removeAll()
        for waiter in ready { waiter.resume() }
    }

    /// The CDC notification endpoint: nothing to report; waits until cancelled.
    public func notification() async -> [UInt8] {
        while !Task.isCancelled {
            await withCheckedContinuation { waiters.append($0) }
        }
        return []
    }

    /// Wakes waiting readers so a cancelled URB can finish.
    public func wakeReaders() {
        let ready = waiters
        waiters.removeAll()
        for waiter in ready { waiter.resume() }
    }
}
