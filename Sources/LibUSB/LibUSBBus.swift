import CLibUSB
import Foundation

/// An arrival or departure on the bus. Arrival is a hint: the device may not be openable
/// yet (udev applies permissions a moment later), so `open` retries.
public enum USBBusEvent: Sendable, Hashable {
    case arrived(USBDeviceSummary)
    case left(USBDeviceSummary)
}

/// Limits for opening a device that just arrived.
public struct OpenRetry: Sendable, Hashable {
    public var attempts: Int
    public var firstDelay: Duration
    public var maximumDelay: Duration
    public init(attempts: Int = 12, firstDelay: Duration = .milliseconds(50), maximumDelay: Duration = .milliseconds(800)) {
        self.attempts = attempts
        self.firstDelay = firstDelay
        self.maximumDelay = maximumDelay
    }
}

/// The USB bus through one libusb context: enumeration, hotplug as an async stream, and
/// opening devices by port path. A thread runs libusb's event loop; hotplug callbacks only
/// yield into the stream (libusb forbids synchronous I/O inside them).
public final class LibUSBBus: @unchecked Sendable {
    // `context` is thread-safe in libusb; `callbackHandle` and `box` are written once in
    // `watch` and read in `deinit`, both under `lock`.
    private let context: LibUSBContext
    private let pump: EventPump
    private let lock = NSLock()
    private var callbackHandle: libusb_hotplug_callback_handle = 0
    private var box: Unmanaged<HotplugBox>?
    private let worker = DeviceThread(name: "libusb-bus")
    /// How arrivals are heard, and so how devices are opened.
    public let arrivals: ArrivalSource
    // Set once in `watch`, under `lock`; its thread ends when it goes.
    private var monitor: KernelUeventMonitor?

    /// - Parameter arrivals: `.udev` (libusb hotplug) while udevd runs, else `.kernel`.
    public init(logLevel: LibUSBContext.LogLevel = .warning, arrivals: ArrivalSource = .udev) throws(LibUSBError) {
        context = try LibUSBContext(logLevel: logLevel)
        pump = EventPump(context: context)
        self.arrivals = arrivals
    }

    /// Whether the kernel's uevents can be heard here (the socket opens).
    public static func kernelUeventsProblem() -> LibUSBError? {
        do throws(LibUSBError) { _ = try KernelUeventMonitor(); return nil } catch { return error }
    }

    deinit {
        lock.lock()
        let registered = box
        lock.unlock()
        if registered != nil { libusb_hotplug_deregister_callback(context.raw, callbackHandle) }
        registered?.takeRetainedValue().continuation.finish()
        worker.stop()
    }

    /// The devices on the bus now, optionally of one vendor.
    public func devices(vendorID: UInt16? = nil) async throws(LibUSBError) -> [USBDeviceSummary] {
        let context = self.context
        let result: Result<[USBDeviceSummary], LibUSBError> = await worker.run {
            do throws(LibUSBError) { return .success(try context.devices()) } catch { return .failure(error) }
        }
        return try result.get().filter { vendorID == nil || $0.vendorID == vendorID }
    }

    /// Arrivals (devices present now first, then new ones) and departures of one vendor's
    /// devices. One watcher per bus.
    public func watch(vendorID: UInt16) throws(LibUSBError) -> AsyncStream<USBBusEvent> {
        if arrivals == .kernel {
            let monitor = try KernelUeventMonitor()
            let (stream, continuation) = AsyncStream<USBBusEvent>.makeStream(bufferingPolicy: .unbounded)
            lock.withLock { self.monitor = monitor }
            monitor.start(vendorID: vendorID, into: continuation)
            return stream
        }
        guard LibUSBLibrary.supportsHotplug else {
            throw LibUSBError(call: "libusb_has_capability(HOTPLUG)", device: nil, rawCode: LIBUSB_ERROR_NOT_SUPPORTED.rawValue)
        }
        let (stream, continuation) = AsyncStream<USBBusEvent>.makeStream(bufferingPolicy: .unbounded)
        let retained = Unmanaged.passRetained(HotplugBox(continuation: continuation))
        var handle: libusb_hotplug_callback_handle = 0
        let events = Int32(LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED.rawValue | LIBUSB_HOTPLUG_EVENT_DEVICE_LEFT.rawValue)
        let status = libusb_hotplug_register_callback(
            context.raw, events, Int32(LIBUSB_HOTPLUG_ENUMERATE.rawValue), Int32(vendorID), LIBUSB_HOTPLUG_MATCH_ANY, LIBUSB_HOTPLUG_MATCH_ANY,
            hotplugCallback, retained.toOpaque(), &handle)
        guard status == LIBUSB_SUCCESS.rawValue else {
            retained.release()
            throw LibUSBError(call: "libusb_hotplug_register_callback", device: nil, rawCode: status)
        }
        lock.lock()
        box = retained
        callbackHandle = handle
        lock.unlock()
        return stream
    }

    /// Opens a device by its port path, retrying while udev catches up.
    public func open(portPath: String, retry: OpenRetry = OpenRetry()) async throws(LibUSBError) -> LibUSBTransport {
        var delay = retry.firstDelay
        var last = LibUSBError(call: "libusb_open", device: portPath, rawCode: LIBUSB_ERROR_NOT_FOUND.rawValue)
        for attempt in 0..<max(1, retry.attempts) {
            if attempt > 0 {
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, retry.maximumDelay)
            }
            let context = self.context, arrivals = self.arrivals
            let thread = DeviceThread(name: "usb \(portPath)")
            let result: Result<OpenedDevice?, LibUSBError> = await thread.run {
                do throws(LibUSBError) {
                    let opened = arrivals == .kernel ? try context.wrap(portPath: portPath) : try context.open(portPath: portPath)
                    return .success(opened.map { OpenedDevice(pointer: $0.0, summary: $0.1) })
                } catch { return .failure(error) }
            }
            switch result {
            case .success(let opened?):
                return LibUSBTransport(handle: opened.pointer, device: opened.summary, thread: thread, context: context, pump: pump)
            case .success(nil):
                last = LibUSBError(call: "libusb_open", device: portPath, rawCode: LIBUSB_ERROR_NOT_FOUND.rawValue)
            case .failure(let error):
                last = error
                guard error.rawCode == LIBUSB_ERROR_ACCESS.rawValue || error.rawCode == LIBUSB_ERROR_BUSY.rawValue
                    || error.rawCode == LIBUSB_ERROR_NOT_FOUND.rawValue
                else { thread.stop(); throw error }
            }
            thread.stop()
        }
        throw last
    }
}

/// What the hotplug callback reaches through its user-data pointer.
final class HotplugBox: @unchecked Sendable {
    // AsyncStream.Continuation is thread-safe.
    let continuation: AsyncStream<USBBusEvent>.Continuation
    init(continuation: AsyncStream<USBBusEvent>.Continuation) { self.continuation = continuation }
}

/// Only reads the descriptor and yields: no I/O in a hotplug callback.
private func hotplugCallback(_ context: OpaquePointer?, _ device: OpaquePointer?, _ event: libusb_hotplug_event, _ userData: UnsafeMutableRawPointer?) -> Int32 {
    guard let device, let userData else { return 0 }
    let box = Unmanaged<HotplugBox>.fromOpaque(userData).takeUnretainedValue()
    guard let summary = LibUSBContext.summary(of: device) else { return 0 }
    box.continuation.yield(event == LIBUSB_HOTPLUG_EVENT_DEVICE_ARRIVED ? .arrived(summary) : .left(summary))
    return 0
}

struct OpenedDevice: Sendable {
    let pointer: DevicePointer
    let summary: USBDeviceSummary
}

/// The thread running libusb's event loop: hotplug callbacks and the completions of
/// asynchronous transfers. The bus and every transport opened from it hold it, so events
/// keep flowing while any of them lives; the thread ends within one 200 ms turn after the
/// last holder goes.
final class EventPump: Sendable {
    private let running = RunFlag()

    init(context: LibUSBContext) {
        // The thread holds the context and the flag, never the pump.
        let running = self.running
        let thread = Thread {
            var timeout = timeval(tv_sec: 0, tv_usec: 200_000)
            while running.value {
                libusb_handle_events_timeout_completed(context.raw, &timeout, nil)
            }
        }
        thread.name = "libusb-events"
        thread.start()
    }

    deinit { running.value = false }
}

/// A flag shared with the event thread.
final class RunFlag: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var running = true
    var value: Bool {
        get { lock.withLock { running } }
        set { lock.withLock { running = newValue } }
    }
}
