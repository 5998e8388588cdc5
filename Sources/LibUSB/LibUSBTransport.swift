import CLibUSB
#if canImport(Glibc)
import Glibc
#endif
import Seams

/// An open USB device. Implements the control-transfer seam the DFU engine and control
/// requests use.
///
/// Control transfers are libusb's asynchronous ones: submitting is a non-blocking usbfs
/// ioctl, and the bus's event thread resumes the caller from the completion callback (one
/// thread hop per transfer, not three as with the synchronous call on a thread of its own).
/// Blocking calls (open, claim, string descriptors, close) run on the device's own thread.
public final class LibUSBTransport: USBControlTransport, @unchecked Sendable {
    // `handle` is opened and closed on `thread`; libusb allows submitting transfers on it
    // from any thread. The context is held so that `libusb_exit` can never run before this
    // handle is closed; the pump, so that completions keep being delivered.
    private let handle: DevicePointer
    private let thread: DeviceThread
    private let context: LibUSBContext
    private let pump: EventPump
    public let deviceName: String
    public let device: USBDeviceSummary

    init(handle: DevicePointer, device: USBDeviceSummary, thread: DeviceThread, context: LibUSBContext, pump: EventPump) {
        self.handle = handle
        self.context = context
        self.pump = pump
        self.device = device
        self.thread = thread
        deviceName = "\(device.portPath) (\(device.vidPID))"
    }

    deinit {
        let handle = self.handle, context = self.context
        thread.enqueue {
            libusb_close(handle.raw)
            if let descriptor = handle.ownedDescriptor { close(descriptor) }
            withExtendedLifetime(context) {}
        }
        thread.stop()
    }

    public func control(_ setup: ControlSetup, data: [UInt8], timeout: Duration) async throws(USBTransferError) -> [UInt8] {
        let handle = self.handle
        let milliseconds = UInt32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let result: Result<[UInt8], USBTransferError> = await withCheckedContinuation { continuation in
            let length = Int(setup.length)
            guard let transfer = libusb_alloc_transfer(0), let raw = malloc(8 + length) else {
                continuation.resume(returning: .failure(.io(call: "libusb_alloc_transfer", code: LIBUSB_ERROR_NO_MEM.rawValue)))
                return
            }
            let buffer = raw.assumingMemoryBound(to: UInt8.self)
            libusb_fill_control_setup(buffer, setup.requestType, setup.request, setup.value, setup.index, setup.length)
            if !setup.isIn {
                data.withUnsafeBufferPointer { source in
                    if let base = source.baseAddress { (buffer + 8).update(from: base, count: min(source.count, length)) }
                }
            }
            let pending = Unmanaged.passRetained(PendingControl(continuation: continuation, isIn: setup.isIn))
            libusb_fill_control_transfer(transfer, handle.raw, buffer, controlTransferCompleted, pending.toOpaque(), milliseconds)
            // libusb frees the buffer (with free) and the transfer after the callback returns.
            transfer.pointee.flags = UInt8(LIBUSB_TRANSFER_FREE_BUFFER.rawValue | LIBUSB_TRANSFER_FREE_TRANSFER.rawValue)
            let status = libusb_submit_transfer(transfer)
            if status != LIBUSB_SUCCESS.rawValue {
                pending.release()
                libusb_free_transfer(transfer)
                continuation.resume(returning: .failure(Self.map(status)))
            }
        }
        return try result.get()
    }

    /// `libusb_claim_interface` then, when asked, `libusb_set_interface_alt_setting`.
    public func claim(interface: Int32, alternateSetting: Int32? = nil) async throws(LibUSBError) {
        let handle = self.handle, name = deviceName
        let result: Result<Void, LibUSBError> = await thread.run {
            do throws(LibUSBError) {
                try LibUSBError.check(libusb_claim_interface(handle.raw, interface), "libusb_claim_interface", device: name)
                if let alternateSetting {
                    try LibUSBError.check(libusb_set_interface_alt_setting(handle.raw, interface, alternateSetting), "libusb_set_interface_alt_setting", device: name)
                }
                return .success(())
            } catch {
                return .failure(error)
            }
        }
        try result.get()
    }

    /// A string descriptor in ASCII (`libusb_get_string_descriptor_ascii`).
    public func string(index: UInt8) async throws(LibUSBError) -> String {
        let handle = self.handle, name = deviceName
        let result: Result<String, LibUSBError> = await thread.run {
            var buffer = [UInt8](repeating: 0, count: 256)
            let count = libusb_get_string_descriptor_ascii(handle.raw, index, &buffer, Int32(buffer.count))
            guard count >= 0 else { return .failure(LibUSBError(call: "libusb_get_string_descriptor_ascii", device: name, rawCode: count)) }
            return .success(String(decoding: buffer.prefix(Int(count)), as: UTF8.self))
        }
        return try result.get()
    }

    /// Maps libusb's errors from submitting a transfer to the seam's.
    static func map(_ code: Int32) -> USBTransferError {
        switch code {
        case LIBUSB_ERROR_PIPE.rawValue: .stall
        case LIBUSB_ERROR_TIMEOUT.rawValue: .timeout
        case LIBUSB_ERROR_NO_DEVICE.rawValue: .noDevice
        case LIBUSB_ERROR_OVERFLOW.rawValue: .overflow
        default: .io(call: "libusb_submit_transfer", code: code)
        }
    }

    /// Maps a completed transfer's status to the seam's errors (nil: completed).
    static func map(status: libusb_transfer_status) -> USBTransferError? {
        switch status {
        case LIBUSB_TRANSFER_COMPLETED: nil
        case LIBUSB_TRANSFER_STALL: .stall
        case LIBUSB_TRANSFER_TIMED_OUT: .timeout
        case LIBUSB_TRANSFER_NO_DEVICE: .noDevice
        case LIBUSB_TRANSFER_OVERFLOW: .overflow
        default: .io(call: "control transfer (libusb_transfer_status)", code: Int32(bitPattern: status.rawValue))
        }
    }
}

extension USBDeviceSummary {
    public var vidPID: String {
        func hex(_ v: UInt16) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: 4 - s.count) + s
        }
        return "\(hex(vendorID)):\(hex(productID))"
    }
}

/// What a control transfer's completion resumes.
final class PendingControl: @unchecked Sendable {
    // Written once; touched by the submitter (only on a failed submit) or by the callback.
    let continuation: CheckedContinuation<Result<[UInt8], USBTransferError>, Never>
    let isIn: Bool
    init(continuation: CheckedContinuation<Result<[UInt8], USBTransferError>, Never>, isIn: Bool) {
        self.continuation = continuation
        self.isIn = isIn
    }
}

/// Runs on the event thread: copies an IN transfer's data out, then resumes the caller.
private func controlTransferCompleted(_ transfer: UnsafeMutablePointer<libusb_transfer>?) {
    guard let transfer, let userData = transfer.pointee.user_data else { return }
    let pending = Unmanaged<PendingControl>.fromOpaque(userData).takeRetainedValue()
    if let error = LibUSBTransport.map(status: transfer.pointee.status) {
        pending.continuation.resume(returning: .failure(error))
    } else if pending.isIn, let buffer = transfer.pointee.buffer {
        let count = Int(max(0, transfer.pointee.actual_length))
        pending.continuation.resume(returning: .success(Array(UnsafeBufferPointer(start: buffer + 8, count: count))))
    } else {
        pending.continuation.resume(returning: .success([]))
    }
}
