import TextFormats
import Seams

/// A control request that did not succeed, with the request, the device and what to do.
public struct ControlRequestError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        case transfer(USBTransferError)
        /// BUSY: four requests are active on the device already.
        case busy
        case noMemory
        /// NOT_FOUND: the device dropped the request (cancelled, or it reset).
        case notFound
        case malformedReply([UInt8])
        /// The device kept answering PENDING past the request timeout.
        case timeout
        /// The request ran and returned a failing result code.
        case result(ControlResult)
        /// The reply's payload could not be decoded.
        case decode(String)
    }

    public let request: String
    public let device: String
    public let kind: Kind

    public var code: String {
        switch kind {
        // Each cause its own code: a STALL or a timeout is a device fault, not an unplug.
        case .transfer(.noDevice): "CTRL-USB-GONE"
        case .transfer(.stall): "CTRL-USB-STALL"
        case .transfer(.timeout): "CTRL-USB-TIMEOUT"
        case .transfer: "CTRL-USB"
        case .busy: "CTRL-BUSY"
        case .noMemory: "CTRL-NO-MEMORY"
        case .notFound: "CTRL-NOT-FOUND"
        case .malformedReply: "CTRL-MALFORMED"
        case .timeout: "CTRL-TIMEOUT"
        case .result(let result): "CTRL-\(result.name.replacingOccurrences(of: "_", with: "-"))"
        case .decode: "CTRL-DECODE"
        }
    }

    /// The device refused the request because it is protected (result -1801): the unit
    /// goes to rework, it is not a fault of the request or the bench.
    public var isDeviceProtected: Bool { kind == .result(.deviceProtected) }

    public var description: String {
        let what = "\(request) on \(device)"
        return switch kind {
        case .transfer(let error): "[\(code)] \(what): the USB transfer failed (\(error)). Check the cable and replug the device."
        case .busy: "[\(code)] \(what): the device is busy with other requests; retry in a moment."
        case .noMemory: "[\(code)] \(what): the device has no memory for the request; reset it and retry."
        case .notFound: "[\(code)] \(what): the device dropped the request (it may have reset); retry."
        case .malformedReply(let bytes): "[\(code)] \(what): the reply was not understood (\(Hex.encode(bytes)))."
        case .timeout: "[\(code)] \(what): no result in time; the device may be hung: reset it and retry."
        case .result(let result) where result.name == "NOT_SUPPORTED":
            "[\(code)] \(what): this Device OS does not support the request; the station falls back where it can."
        case .result(let result) where result.name == "DEVICE_PROTECTED":
            "[\(code)] \(what): Device Protection is on; the request needs an unprotected (or service-mode) device."
        case .result(let result): "[\(code)] \(what): the device answered \(result)."
        case .decode(let detail): "[\(code)] \(what): the reply could not be decoded: \(detail)."
        }
    }
}

/// What a completed request returned.
public struct ControlReply: Hashable, Sendable {
    public var result: ControlResult
    public var data: [UInt8]
}

/// Timing of the service protocol (particle-usb-protocol.md 3.3).
public struct ControlTimeouts: Hashable, Sendable {
    /// Each USB transfer.
    public var transfer: Duration = .seconds(5)
    /// A whole request, PENDING included.
    public var request: Duration = .seconds(60)
    /// Waits between CHECKs; the last repeats.
    public var checkBackoff: [Duration] = [50, 50, 100, 100, 250, 250, 500, 500, 1000].map { .milliseconds($0) }
    public init() {}
}

/// The control-request service protocol over the control-transfer seam: INIT, then SEND of
/// the payload in chunks, CHECK with back-off until done, RECV of the reply; RESET of the
/// request on timeout or error, and of leftovers (id 0) when opening.
public struct ControlChannel: Sendable {
    public let transport: any USBControlTransport
    public let clock: any Clock<Duration>
    public var timeouts: ControlTimeouts
    /// Payload and reply chunk limit.
    public static let chunk = 4096
    /// The largest payload either way (`USB_REQUEST_MAX_PAYLOAD_SIZE`, 65,535): a reply that
    /// announces more is refused before anything is received for it.
    public static let maximumPayload = 65_535

    public init(transport: any USBControlTransport, clock: any Clock<Duration>, timeouts: ControlTimeouts = ControlTimeouts()) {
        self.transport = transport
        self.clock = clock
        self.timeouts = timeouts
    }

    enum Service: UInt8 { case initialize = 1, check = 2, send = 3, receive = 4, reset = 5 }

    func fail(_ request: String, _ kind: ControlRequestError.Kind) -> ControlRequestError {
        ControlRequestError(request: request, device: transport.deviceName, kind: kind)
    }

    func service(_ service: Service, index: UInt16, value: UInt16 = 0, request: String) async throws(ControlRequestError) -> ServiceReply {
        let setup = ControlSetup(requestType: 0xC0, request: service.rawValue, value: value, index: index, length: 64)
        let bytes: [UInt8]
        do {
            bytes = try await transport.control(setup, data: [], timeout: timeouts.transfer)
        } catch {
            throw fail(request, .transfer(error))
        }
        guard let reply = ServiceReply(bytes: bytes) else { throw fail(request, .malformedReply(bytes)) }
        return reply
    }

    /// RESET of one request, or of every request (id 0) when opening a device.
    public func reset(id: UInt16 = 0) async {
        _ = try? await service(.reset, index: id, request: "RESET")
    }

    /// Sends request `type` with `payload`; returns its result and reply data. A failing
    /// result is returned, not thrown (`ControlRequests` decides what it means).
    public func send(_ type: UInt16, payload: [UInt8] = [], name: String? = nil) async throws(ControlRequestError) -> ControlReply {
        let request = name ?? "request \(type)"
        guard payload.count <= Int(UInt16.max) else { throw fail(request, .result(ControlResult(rawValue: -190))) }
        // Time spent waiting between CHECKs, against the request timeout.
        var waited = Duration.zero
        var checks = 0
        func pause() async throws(ControlRequestError) {
            let wait = timeouts.checkBackoff[min(checks, timeouts.checkBackoff.count - 1)]
            checks += 1
            waited += wait
            guard waited <= timeouts.request else { throw fail(request, .timeout) }
            do { try await clock.sleep(for: wait, tolerance: nil) } catch { throw fail(request, .timeout) }
        }
        var reply = try await service(.initialize, index: type, value: UInt16(payload.count), request: request)
        switch reply.status {
        case .busy: throw fail(request, .busy)
        case .noMemory: throw fail(request, .noMemory)
        case .ok, .pending: break
        default: throw fail(request, .malformedReply(reply.encoded))
        }
        guard let id = reply.id else { throw fail(request, .malformedReply(reply.encoded)) }
        do throws(ControlRequestError) {
            // The device allocates the payload buffer: PENDING until it is ready.
            while reply.status == .pending && !payload.isEmpty {
                try await pause()
                reply = try await service(.check, index: id, request: request)
                try Self.settle(reply, request: request, channel: self)
            }
            var offset = 0
            while offset < payload.count {
                let chunk = Array(payload[offset..<min(payload.count, offset + Self.chunk)])
                let setup = ControlSetup(requestType: 0x40, request: Service.send.rawValue, value: 0, index: id, length: UInt16(chunk.count))
                do { _ = try await transport.control(setup, data: chunk, timeout: timeouts.transfer) } catch { throw fail(request, .transfer(error)) }
                offset += chunk.count
            }
            // Then CHECK until the request has run.
            checks = 0
            reply = try await service(.check, index: id, request: request)
            while reply.status == .pending {
                try await pause()
                reply = try await service(.check, index: id, request: request)
            }
            try Self.settle(reply, request: request, channel: self)
            guard let result = reply.result else { throw fail(request, .malformedReply(reply.encoded)) }
            var data: [UInt8] = []
            let announced = reply.size ?? 0
            guard announced <= UInt32(Self.maximumPayload) else {
                throw fail(request, .decode("the device announces a \(announced)-byte reply; the protocol allows \(Self.maximumPayload) at most"))
            }
            let size = Int(announced)
            while data.count < size {
                let want = min(Self.chunk, size - data.count)
                let setup = ControlSetup(requestType: 0xC0, request: Service.receive.rawValue, value: 0, index: id, length: UInt16(want))
                let chunk: [UInt8]
                do { chunk = try await transport.control(setup, data: [], timeout: timeouts.transfer) } catch { throw fail(request, .transfer(error)) }
                guard chunk.count == want else { throw fail(request, .malformedReply(chunk)) }
                data += chunk
            }
            return ControlReply(result: ControlResult(rawValue: result), data: data)
        } catch {
            await reset(id: id)
            throw error
        }
    }

    static func settle(_ reply: ServiceReply, request: String, channel: ControlChannel) throws(ControlRequestError) {
        switch reply.status {
        case .ok, .pending: return
        case .busy: throw channel.fail(request, .busy)
        case .noMemory: throw channel.fail(request, .noMemory)
        case .notFound: throw channel.fail(request, .notFound)
        case .error: throw channel.fail(request, .malformedReply(reply.encoded))
        }
    }
}

extension ControlRequestError: DeviceFacingError {
    public var cause: DeviceCause {
        switch kind {
        case .transfer(let error): error.cause
        case .timeout: .timeout
        case .busy, .noMemory, .notFound, .malformedReply, .decode: .protocolViolation
        case .result: .other
        }
    }
}
