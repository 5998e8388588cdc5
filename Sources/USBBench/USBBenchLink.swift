import ControlRequests
import DFU
import Foundation
import LibUSB
import ListeningConsole
import ParticleDevices
import Seams
import SerialPort
import Station
import Udev

/// The USB serial string of a device (its device ID on Particle devices; older Device OS
/// used strings like `Particle_Electron_<ID>`: the 24-hex run is taken).
public enum USBSerial {
    public static func read(_ transport: any USBControlTransport) async throws -> String? {
        let device = try await transport.control(ControlSetup(requestType: 0x80, request: 6, value: 0x0100, index: 0, length: 18), data: [], timeout: .seconds(2))
        guard device.count >= 18, device[16] != 0 else { return nil }
        let raw = try await transport.control(
            ControlSetup(requestType: 0x80, request: 6, value: 0x0300 | UInt16(device[16]), index: 0x0409, length: 255), data: [], timeout: .seconds(2))
        guard let text = USBStringDescriptor.decode(raw) else { return nil }
        return deviceID(in: text) ?? text
    }

    /// The 24-hex device ID in a serial string, lowercased.
    public static func deviceID(in text: String) -> String? {
        text.split(whereSeparator: { !$0.isHexDigit }).first { $0.count == 24 }.map { $0.lowercased() }
    }
}

/// The real bench: Particle devices on this machine's USB through libusb, as the pipeline's
/// `DeviceLink`, and their arrivals and departures (hotplug) as `HardwareEvent`s. Every call
/// finds the device again by device ID (mode switches re-enumerate it); a transport is kept
/// per port only until that port's device leaves.
public final class USBBenchLink: DeviceLink, @unchecked Sendable {
    let bus: LibUSBBus
    let catalog: PlatformCatalog
    // `present` and `transports` are guarded by `lock`.
    private let lock = NSLock()
    private var present: [String: (deviceID: DeviceID, inDFU: Bool)] = [:]
    private var transports: [String: LibUSBTransport] = [:]

    /// What its waits and the protocols' timeouts are measured on.
    let clock: any Clock<Duration>

    public init(bus: LibUSBBus, catalog: PlatformCatalog = .bundled, clock: any Clock<Duration> = ContinuousClock()) {
        self.bus = bus
        self.clock = clock
        self.catalog = catalog
    }

    /// Hotplug as the pipeline's events: devices present now first, then changes.
    public func events() throws -> AsyncStream<HardwareEvent> {
        let source = try bus.watch(vendorID: catalog.vendorID)
        let (stream, continuation) = AsyncStream<HardwareEvent>.makeStream(bufferingPolicy: .unbounded)
        let task = Task {
            for await event in source {
                switch event {
                case .arrived(let summary):
                    guard let (platform, mode) = catalog.platform(usbProductID: summary.productID), platform.isProvisionable else { continue }
                    // The serial string the kernel read at enumeration (sysfs, through udev)
                    // first: no USB transfer, so a busy bench (several devices switching
                    // modes at once) cannot make it miss an arrival; the device itself second.
                    var deviceID: String?
                    let udev = try? UdevContext()
                    for attempt in 0..<30 where deviceID == nil {
                        if attempt > 0 { try? await clock.sleep(for: .milliseconds(100)) }
                        if let known = udev?.usbSerial(portPath: summary.portPath), known.productID == nil || known.productID == summary.productID {
                            deviceID = USBSerial.deviceID(in: known.serial)
                        }
                        if deviceID == nil, attempt % 3 == 2, let transport = try? await transport(summary.portPath) {
                            deviceID = (try? await USBSerial.read(transport))??.lowercased()
                        }
                    }
                    guard let text = deviceID, let deviceID = try? DeviceID(text) else {
                        FileHandle.standardError.write(Data("station: a Particle device on port \(summary.portPath) gave no device ID; it is not guarded. Unplug it and plug it in again\n".utf8))
                        continue
                    }
                    lock.withLock { present[summary.portPath] = (deviceID, mode == .dfu) }
                    continuation.yield(.arrived(port: summary.portPath, deviceID: deviceID, productID: summary.productID, inDFU: mode == .dfu))
                case .left(let summary):
                    let known = lock.withLock { () -> Bool in
                        transports[summary.portPath] = nil
                        return present.removeValue(forKey: summary.portPath) != nil
                    }
                    if known { continuation.yield(.departed(port: summary.portPath)) }
                }
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    func transport(_ port: String) async throws -> LibUSBTransport {
        if let cached = lock.withLock({ transports[port] }) { return cached }
        let opened = try await bus.open(portPath: port, retry: OpenRetry(attempts: 3))
        lock.withLock { transports[port] = opened }
        return opened
    }

    func port(of deviceID: DeviceID, inDFU: Bool) -> String? {
        lock.withLock { present.first { $0.value.deviceID == deviceID && $0.value.inDFU == inDFU }?.key }
    }

    public func normal(_ deviceID: DeviceID, within: Duration) async throws -> ControlRequests {
        let deadline = Deadline(after: within, on: clock)
        var last: any Error = LinkUnavailable(deviceID: deviceID, mode: "normal")
        while true {
            if let port = port(of: deviceID, inDFU: false) {
                do { return ControlRequests(channel: ControlChannel(transport: try await transport(port), clock: clock)) } catch { last = error }
            }
            guard !deadline.hasPassed else { throw last }
            try await clock.sleep(for: .milliseconds(50))
        }
    }

    public func dfu(_ deviceID: DeviceID, within: Duration) async throws -> DfuSeSession {
        let deadline = Deadline(after: within, on: clock)
        var last: any Error = LinkUnavailable(deviceID: deviceID, mode: "DFU")
        while true {
            if let port = port(of: deviceID, inDFU: true) {
                do {
                    let transport = try await transport(port)
                    try await transport.claim(interface: 0, alternateSetting: 0)
                    return try await DfuSeSession.open(transport, clock: clock)
                } catch { last = error }
            }
            guard !deadline.hasPassed else { throw last }
            try await clock.sleep(for: .milliseconds(50))
        }
    }

    public func presence(_ deviceID: DeviceID) async -> LinkPresence {
        if port(of: deviceID, inDFU: false) != nil { return .normal }
        return port(of: deviceID, inDFU: true) != nil ? .dfu : .absent
    }

    public func console(_ deviceID: DeviceID) async -> (@Sendable () async throws -> ListeningConsole)? {
        guard let port = port(of: deviceID, inDFU: false) else { return nil }
        let clock = self.clock
        return {
            guard let tty = (try? UdevContext().nodes(subsystem: "tty", forPortPath: port))?.first else {
                throw LinkUnavailable(deviceID: deviceID, mode: "normal (no serial port: is cdc-acm loaded?)")
            }
            return ListeningConsole(stream: try SerialPort(path: tty), clock: clock)
        }
    }
}
