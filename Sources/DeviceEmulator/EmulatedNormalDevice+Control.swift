import ControlRequests
import FirmwareModules
import ParticleDevices
import Seams

/// A module in an emulated device's flash, as it reports it.
public struct EmulatedModule: Hashable, Sendable {
    public var function: ModuleFunction
    public var index: UInt8
    public var version: UInt16
    public var size: UInt32
    public var valid: Bool
    public var dependencies: [ModuleDependency]
    /// Its suffix's SHA-256 field, which request 90 reports as `hash` (nil: none sent).
    public var sha256: [UInt8]?

    public init(function: ModuleFunction, index: UInt8, version: UInt16, size: UInt32, valid: Bool = true, dependencies: [ModuleDependency] = [],
                sha256: [UInt8]? = nil) {
        self.function = function
        self.index = index
        self.version = version
        self.size = size
        self.valid = valid
        self.dependencies = dependencies
        self.sha256 = sha256
    }

    public init(_ module: FirmwareModule) {
        self.init(function: module.header.function, index: module.header.index, version: module.header.version, size: UInt32(module.size),
                  valid: module.crcValid, dependencies: module.header.dependencies,
                  // The radio stack is known by the SoftDevice's own record, which holds no hash
                  // (as after a flash: `BootReport`).
                  sha256: module.header.function == .radioStack ? nil : module.suffix.sha256)
    }
}

extension EmulatedModule {
    /// The Device OS release a flash holding `modules` runs (its valid system part), or
    /// `fallback` when the version table does not know it.
    public static func runningRelease(_ modules: [EmulatedModule], fallback: String) -> String {
        modules.first { $0.function == .systemPart && $0.valid }
            .flatMap { DeviceOSVersionTable.bundled.release(for: $0.version, kind: .systemPart) } ?? fallback
    }
}

/// What an emulated device did, for tests and the lab's log.
public struct DeviceEvent: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        case arrived
        case cloudAttemptStarted
        /// The station kept it off the cloud (listening mode, DFU, cloud abort).
        case stopped(String)
        case connected
        case request(UInt16, result: Int32)
    }
    public let at: Duration
    public let kind: Kind
    public var description: String { "\(at) \(kind)" }
}

public enum PendingReset: Hashable, Sendable { case reset, safeMode, dfu }

/// A request the service is handling.
struct ActiveRequest {
    var type: UInt16
    var size: Int
    var payload: [UInt8] = []
    var allocating: Bool
    var reply: (result: Int32, data: [UInt8])?
}

extension EmulatedNormalDevice {
    var capabilities: DeviceOSCapabilities { .bundled }

    /// Protected, on a Device OS that has Device Protection (before 6 there is none).
    var enforcesProtection: Bool {
        profile.protection == .protected && capabilities.supports(.protectedStateRequest, deviceOS)
    }

    func note(_ kind: DeviceEvent.Kind) {
        events.append(DeviceEvent(at: started.duration(to: .now), kind: kind))
    }

    /// The device has arrived on the bus: in normal operation with an active SIM, it starts
    /// connecting and connects after the profile's delay unless stopped first.
    public func powerOn() {
        note(.arrived)
        powerOnCloudAttempt()
    }

    /// Normal operation with an active SIM starts the timer toward connecting.
    func powerOnCloudAttempt() {
        guard !listening, profile.simActive, cloudTimer == nil, !connected else { return }
        note(.cloudAttemptStarted)
        let delay = profile.cloudConnectDelay, clock = self.clock
        cloudTimer = Task { [weak self] in
            do { try await clock.sleep(for: delay, tolerance: nil) } catch { return }
            await self?.connectIfStillTrying()
        }
    }

    func connectIfStillTrying() {
        guard cloudTimer != nil, !listening, attached else { return }
        connected = true
        cloudTimer = nil
        note(.connected)
    }

    /// Stops the cloud attempt (listening mode, DFU, a cloud abort), logging why.
    func stopCloud(_ reason: String) {
        guard let timer = cloudTimer else { return }
        timer.cancel()
        cloudTimer = nil
        note(.stopped(reason))
    }

    /// Listening mode: the console answers and the cloud is not tried.
    public func enterListening() {
        listening = true
        stopCloud("listening mode")
    }

    // MARK: The service protocol (bRequest 1-5)

    func service(_ setup: ControlSetup, data: [UInt8]) async throws(USBTransferError) -> [UInt8] {
        guard capabilities.supports(.controlRequests, deviceOS) else { throw .stall }
        switch setup.request {
        case 1:  // INIT: wIndex type, wValue payload size
            guard setup.length >= 64 else { throw .stall }
            guard activeRequests.count < 4 else { return ServiceReply(status: .busy).encoded }
            let id = nextRequestID
            nextRequestID = nextRequestID == UInt16.max ? 1 : nextRequestID + 1
            // Payloads above the pooled 64 bytes are allocated: PENDING until a CHECK.
            let allocating = setup.value > 64
            activeRequests[id] = ActiveRequest(type: setup.index, size: Int(setup.value), allocating: allocating)
            if setup.value == 0 { run(id) }
            return ServiceReply(status: allocating ? .pending : .ok, id: id).encoded
        case 2:  // CHECK
            guard setup.length >= 64 else { throw .stall }
            guard var request = activeRequests[setup.index] else { return ServiceReply(status: .notFound).encoded }
            if request.allocating {
                request.allocating = false
                activeRequests[setup.index] = request
                return ServiceReply(status: .ok, id: setup.index).encoded
            }
            guard let reply = request.reply else { return ServiceReply(status: request.payload.count < request.size ? .ok : .pending, id: setup.index).encoded }
            if reply.data.isEmpty { activeRequests[setup.index] = nil }
            return ServiceReply(status: .ok, id: setup.index, size: reply.data.isEmpty ? nil : UInt32(reply.data.count), result: reply.result).encoded
        case 3:  // SEND
            guard var request = activeRequests[setup.index], !request.allocating, request.payload.count + data.count <= request.size else { throw .stall }
            request.payload += data
            activeRequests[setup.index] = request
            if request.payload.count == request.size { run(setup.index) }
            return []
        case 4:  // RECV
            guard let request = activeRequests[setup.index], let reply = request.reply, Int(setup.length) <= reply.data.count else { throw .stall }
            let chunk = Array(reply.data.prefix(Int(setup.length)))
            var rest = request
            rest.reply = (reply.result, Array(reply.data.dropFirst(chunk.count)))
            activeRequests[setup.index] = rest.reply!.data.isEmpty ? nil : rest
            return chunk
        case 5:  // RESET: one request, or all (0)
            if setup.index == 0 { activeRequests.removeAll() } else { activeRequests[setup.index] = nil }
            return ServiceReply(status: .ok).encoded
        default:
            throw .stall
        }
    }

    func run(_ id: UInt16) {
        guard var request = activeRequests[id] else { return }
        let reply = handle(request.type, request.payload)
        note(.request(request.type, result: reply.result))
        request.reply = reply
        activeRequests[id] = request
    }

    /// One request, as this Device OS answers it.
    func handle(_ type: UInt16, _ payload: [UInt8]) -> (result: Int32, data: [UInt8]) {
        let ok: Int32 = 0, notSupported: Int32 = -120, invalidState: Int32 = -210, outOfRange: Int32 = -290
        let fields = (try? Protobuf.fields(payload)) ?? []
        // A protected unit answers only the requests Device Protection lets through over USB
        // (data: `DeviceProtectionRules`); every other gets DEVICE_PROTECTED.
        if enforcesProtection, !DeviceProtectionRules.bundled.allowedWhenProtected.contains(type) {
            return (ControlResult.deviceProtected.rawValue, [])
        }
        switch type {
        case 20: return (ok, Protobuf.field(1, string: profile.deviceID.rawValue))
        case 21: return (ok, Protobuf.field(1, string: profile.serial?.rawValue ?? ""))
        case 30: return (ok, Protobuf.field(1, string: deviceOS.description))
        case 40:
            pendingReset = .reset
            return (ok, [])
        case 50:
            pendingReset = .dfu
            dfuRequested = true
            stopCloud("DFU mode requested")
            return (ok, [])
        case 60:
            pendingReset = .safeMode
            return (ok, [])
        case 70:
            enterListening()
            return (ok, [])
        case 71:
            // Normal operation again: with an active SIM it starts toward the cloud.
            listening = false
            powerOnCloudAttempt()
            return (ok, [])
        case 72: return (ok, Protobuf.field(1, varint: listening ? 1 : 0))
        case 73:
            let done = fields.first { $0.number == 1 }?.value.integer == 1
            guard capabilities.supports(.setupDoneBit, deviceOS, platform: platform.name) else { return (done ? ok : notSupported, []) }
            setupDone = done
            return (ok, [])
        case 74:
            return (ok, Protobuf.field(1, bool: capabilities.supports(.setupDoneBit, deviceOS, platform: platform.name) ? setupDone : true))
        case 76:
            guard capabilities.supports(.protectedStateRequest, deviceOS) else { return (notSupported, []) }
            return (ok, Protobuf.field(1, bool: profile.protection != .open) + Protobuf.field(2, bool: profile.protection == .service))
        case 90:
            guard capabilities.supports(.moduleInfoRequest, deviceOS) else { return (notSupported, []) }
            return (ok, modules.flatMap { module in
                var bytes = Protobuf.field(1, varint: UInt64(module.function.rawValue)) + Protobuf.field(2, varint: UInt64(module.index))
                bytes += Protobuf.field(3, varint: UInt64(module.version)) + [0x35] + le(UInt32(0x1E)) + [0x3D] + le(UInt32(module.valid ? 0x1E : 0x1C))
                if let hash = module.sha256 { bytes += Protobuf.field(8, bytes: hash) }
                for dependency in module.dependencies where dependency.function != .none {
                    bytes += Protobuf.field(9, bytes: Protobuf.field(1, varint: UInt64(dependency.function.rawValue))
                        + Protobuf.field(2, varint: UInt64(dependency.index)) + Protobuf.field(3, varint: UInt64(dependency.version)))
                }
                bytes += Protobuf.field(11, varint: UInt64(module.size))
                return Protobuf.field(2, bytes: bytes)
            })
        case 250:
            let size = Int(fields.first { $0.number == 1 }?.value.integer ?? 0)
            guard size > 0 else { return (-270, []) }
            staged = (size, [])
            return (ok, Protobuf.field(1, varint: 1024))
        case 253:
            guard var update = staged else { return (invalidState, []) }
            let bytes = fields.first { $0.number == 1 }?.value.bytes ?? []
            guard !bytes.isEmpty, bytes.count <= 1024, update.bytes.count + bytes.count <= update.expected else {
                staged = nil
                return (outOfRange, [])
            }
            update.bytes += bytes
            staged = update
            return (ok, [])
        case 251:
            guard let update = staged, update.bytes.count == update.expected else { return (invalidState, []) }
            staged = nil
            guard let module = try? FirmwareModule(bytes: update.bytes), module.crcValid, module.header.platformID == platform.id.rawValue else {
                return (-280, [])
            }
            acceptedUpdates.append(module)
            pendingReset = .reset
            return (ok, [])
        case 252:
            staged = nil
            return (ok, [])
        case 554:
            guard capabilities.supports(.cellularIdentityRequest, deviceOS, platform: platform.name) else { return (notSupported, []) }
            var data = Protobuf.field(1, string: profile.iccid?.rawValue ?? "")
            if capabilities.supports(.imeiInCellularIdentity, deviceOS, platform: platform.name) { data += Protobuf.field(2, string: profile.imei?.rawValue ?? "") }
            return (ok, data)
        default:
            return (notSupported, [])
        }
    }

    func le(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.littleEndian, Array.init) }

    /// The legacy raw requests (bRequest 0x50, wIndex = type).
    func legacy(_ setup: ControlSetup) throws(USBTransferError) -> [UInt8] {
        // The same filter as the service protocol: a protected unit refuses (STALL, the only
        // answer this path has) all but what Device Protection lets through.
        if enforcesProtection, !DeviceProtectionRules.bundled.allowedWhenProtected.contains(setup.index) { throw .stall }
        switch (setup.requestType, setup.index) {
        case (0xC0, 20): return Array(profile.deviceID.rawValue.uppercased().utf8)
        case (0xC0, 30):
            guard capabilities.supports(.controlRequests, deviceOS) else { throw .stall }
            return Array(deviceOS.description.utf8) + [0]
        case (0x40, 40):
            guard capabilities.supports(.legacyReset, deviceOS) else { throw .stall }
            pendingReset = .reset
            return []
        case (0x40, 302):
            stopCloud("cloud connection aborted")
            return []
        default:
            throw .stall
        }
    }
}
