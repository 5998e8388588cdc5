import FirmwareModules
import Seams
import TextFormats

/// The request types a station uses (Device OS `system_control.h`; particle-usb-protocol.md 3.5).
public enum ControlRequestType: UInt16, Sendable, CaseIterable {
    case deviceID = 20, serialNumber = 21, systemVersion = 30, reset = 40, dfuMode = 50, safeMode = 60
    case startListening = 70, stopListening = 71, deviceMode = 72, setSetupDone = 73, isSetupDone = 74, protectedState = 76
    case moduleInfo = 90
    case startFirmwareUpdate = 250, finishFirmwareUpdate = 251, cancelFirmwareUpdate = 252, firmwareUpdateData = 253
    case cellularICCID = 554
}

/// A module as the device describes it (request 90, either reply shape).
public struct DeviceModule: Hashable, Sendable {
    public var function: ModuleFunction?
    public var index: UInt8
    public var version: UInt16
    public var size: UInt32?
    /// Validity checks the device ran and the ones that passed (bits: 0x02 integrity,
    /// 0x04 dependencies, 0x08 range, 0x10 platform).
    public var checked: UInt32
    public var passed: UInt32
    public var dependencies: [ModuleDependency]
    /// The module's SHA-256 as the device reports it (the newer shape's field 8, `hash`),
    /// lower-case hex; nil in the older shape or when the device sent none or not 32 bytes.
    public var sha256: String? = nil

    /// Checks that ran and failed.
    public var failures: UInt32 { checked ^ passed }
    public var isValid: Bool { failures == 0 }
}

/// Typed requests over a `ControlChannel`: each builds its protobuf payload and decodes its
/// reply (unknown fields skipped).
public struct ControlRequests: Sendable {
    public let channel: ControlChannel

    public init(channel: ControlChannel) { self.channel = channel }

    func call(_ type: ControlRequestType, _ payload: [UInt8] = []) async throws(ControlRequestError) -> [UInt8] {
        let reply = try await channel.send(type.rawValue, payload: payload, name: "\(type) (\(type.rawValue))")
        guard reply.result == .ok else {
            throw ControlRequestError(request: "\(type) (\(type.rawValue))", device: channel.transport.deviceName, kind: .result(reply.result))
        }
        return reply.data
    }

    func fields(_ type: ControlRequestType, _ data: [UInt8]) throws(ControlRequestError) -> [(number: Int, value: Protobuf.Value)] {
        do { return try Protobuf.fields(data) } catch {
            throw ControlRequestError(request: "\(type) (\(type.rawValue))", device: channel.transport.deviceName, kind: .decode(error.description))
        }
    }

    func string(_ type: ControlRequestType, field: Int) async throws(ControlRequestError) -> String {
        let data = try await call(type)
        return try fields(type, data).first { $0.number == field }?.value.string ?? ""
    }

    /// Request 20: the device ID, lowercase hex.
    public func deviceID() async throws(ControlRequestError) -> String { try await string(.deviceID, field: 1).lowercased() }
    /// Request 21: the serial number printed on the sticker.
    public func serialNumber() async throws(ControlRequestError) -> String { try await string(.serialNumber, field: 1) }
    /// Request 30: the Device OS version string.
    public func systemVersion() async throws(ControlRequestError) -> String { try await string(.systemVersion, field: 1) }

    public func reset() async throws(ControlRequestError) { _ = try await call(.reset) }
    public func enterDFU() async throws(ControlRequestError) { _ = try await call(.dfuMode) }
    public func enterSafeMode() async throws(ControlRequestError) { _ = try await call(.safeMode) }
    public func startListening() async throws(ControlRequestError) { _ = try await call(.startListening) }
    public func stopListening() async throws(ControlRequestError) { _ = try await call(.stopListening) }

    /// Request 72: true when the device is in listening mode.
    public func isListening() async throws(ControlRequestError) -> Bool {
        let data = try await call(.deviceMode)
        return try fields(.deviceMode, data).first { $0.number == 1 }?.value.integer == 1
    }

    /// Request 73. On Device OS 4.0 and later the bit is gone: done=true answers OK.
    public func setSetupDone(_ done: Bool = true) async throws(ControlRequestError) {
        _ = try await call(.setSetupDone, Protobuf.field(1, bool: done))
    }

    public func isSetupDone() async throws(ControlRequestError) -> Bool {
        let data = try await call(.isSetupDone)
        return try fields(.isSetupDone, data).first { $0.number == 1 }?.value.integer == 1
    }

    /// Request 76 (GET_PROTECTED_STATE, Device OS 6): field 1 `state` (protected), field 2
    /// `overridden` (Service Mode). Older Device OS answers NOT_SUPPORTED (-120).
    public func protectedState() async throws(ControlRequestError) -> (state: Bool, overridden: Bool) {
        let data = try await call(.protectedState)
        let decoded = try fields(.protectedState, data)
        return (decoded.first { $0.number == 1 }?.value.integer == 1, decoded.first { $0.number == 2 }?.value.integer == 1)
    }

    /// Request 554: ICCID, and the IMEI from Device OS 5.8.0 / 6.1.0 on (nil before).
    public func cellularIdentity() async throws(ControlRequestError) -> (iccid: String, imei: String?) {
        let data = try await call(.cellularICCID)
        let decoded = try fields(.cellularICCID, data)
        let imei = decoded.first { $0.number == 2 }?.value.string
        return (decoded.first { $0.number == 1 }?.value.string ?? "", imei?.isEmpty == false ? imei : nil)
    }

    /// Request 90, either reply shape: field 1 (older `Module`) or field 2
    /// (`particle.cloud.FirmwareModule`).
    public func modules() async throws(ControlRequestError) -> [DeviceModule] {
        let data = try await call(.moduleInfo)
        var result: [DeviceModule] = []
        for field in try fields(.moduleInfo, data) where field.number == 1 || field.number == 2 {
            guard let bytes = field.value.bytes else { continue }
            result.append(try module(bytes, newShape: field.number == 2))
        }
        return result
    }

    func module(_ bytes: [UInt8], newShape: Bool) throws(ControlRequestError) -> DeviceModule {
        var module = DeviceModule(function: nil, index: 0, version: 0, size: nil, checked: 0, passed: 0, dependencies: [])
        for field in try fields(.moduleInfo, bytes) {
            let value = field.value.integer ?? 0
            switch (newShape, field.number) {
            case (_, 1): module.function = newShape ? ModuleFunction(rawValue: UInt8(truncatingIfNeeded: value)) : Self.storageType(value)
            case (_, 2): module.index = UInt8(truncatingIfNeeded: value)
            case (_, 3): module.version = UInt16(truncatingIfNeeded: value)
            case (false, 4), (true, 11): module.size = UInt32(truncatingIfNeeded: value)
            case (false, 5):
                // The older shape: validity = the checks that passed, against all it ran.
                module.checked = 0x1E
                module.passed = UInt32(truncatingIfNeeded: value)
            case (true, 6): module.checked = UInt32(truncatingIfNeeded: value)
            case (true, 7): module.passed = UInt32(truncatingIfNeeded: value)
            case (true, 8):
                if let hash = field.value.bytes, hash.count == 32 { module.sha256 = Hex.encode(hash) }
            case (false, 6), (true, 9):
                if let dep = field.value.bytes { module.dependencies.append(try dependency(dep, newShape: newShape)) }
            default: break
            }
        }
        return module
    }

    func dependency(_ bytes: [UInt8], newShape: Bool) throws(ControlRequestError) -> ModuleDependency {
        var function = ModuleFunction.none
        var index: UInt8 = 0
        var version: UInt16 = 0
        for field in try fields(.moduleInfo, bytes) {
            let value = field.value.integer ?? 0
            switch field.number {
            case 1: function = newShape ? ModuleFunction(rawValue: UInt8(truncatingIfNeeded: value)) : Self.storageType(value) ?? .none
            case 2: index = UInt8(truncatingIfNeeded: value)
            case 3: version = UInt16(truncatingIfNeeded: value)
            default: break
            }
        }
        return ModuleDependency(function: function, index: index, version: version)
    }

    /// storage.proto module types to header functions.
    static func storageType(_ value: UInt64) -> ModuleFunction? {
        switch value {
        case 1: .bootloader
        case 2: .systemPart
        case 3: .userPart
        case 4: .monoFirmware
        case 5: .ncpFirmware
        case 6: .radioStack
        default: nil
        }
    }

    // MARK: Control-request firmware update (bootloader, NCP)

    /// 250 -> chunks of the device's chunk size (253) -> 251; the device then validates and
    /// applies the module (and resets). Cancels (252) if a step fails.
    public func updateFirmware(_ module: [UInt8], progress: @Sendable (Int) -> Void = { _ in }) async throws(ControlRequestError) {
        let start = try await call(.startFirmwareUpdate, Protobuf.field(1, varint: UInt64(module.count)))
        let asked = try fields(.startFirmwareUpdate, start).first { $0.number == 1 }?.value.integer ?? 1024
        // The device's chunk size is not trusted: each 253 request carries one chunk, so it
        // is 1 byte to a payload's maximum (a huge value trapped converting to Int).
        guard (1...UInt64(ControlChannel.maximumPayload - 16)).contains(asked) else {
            _ = try? await call(.cancelFirmwareUpdate)
            throw ControlRequestError(request: "start firmware update (250)", device: channel.transport.deviceName,
                                      kind: .decode("the device asks for \(asked)-byte chunks; expected 1 to \(ControlChannel.maximumPayload - 16)"))
        }
        let chunk = Int(asked)
        do throws(ControlRequestError) {
            var offset = 0
            while offset < module.count {
                let piece = Array(module[offset..<min(module.count, offset + chunk)])
                _ = try await call(.firmwareUpdateData, Protobuf.field(1, bytes: piece))
                offset += piece.count
                progress(offset)
            }
            _ = try await call(.finishFirmwareUpdate)
        } catch {
            _ = try? await call(.cancelFirmwareUpdate)
            throw error
        }
    }
}

/// The legacy raw requests (bRequest 0x50, wIndex = type): what works on every Device OS.
public struct LegacyRequests: Sendable {
    public let transport: any USBControlTransport
    public var timeout: Duration = .seconds(5)

    public init(transport: any USBControlTransport) { self.transport = transport }

    func read(_ index: UInt16, name: String) async throws(ControlRequestError) -> String {
        do {
            let bytes = try await transport.control(ControlSetup(requestType: 0xC0, request: 0x50, value: 0, index: index, length: 64), data: [], timeout: timeout)
            return String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        } catch {
            throw ControlRequestError(request: name, device: transport.deviceName, kind: .transfer(error))
        }
    }

    func command(_ index: UInt16, name: String) async throws(ControlRequestError) {
        do {
            _ = try await transport.control(ControlSetup(requestType: 0x40, request: 0x50, value: 0, index: index, length: 0), data: [], timeout: timeout)
        } catch {
            throw ControlRequestError(request: name, device: transport.deviceName, kind: .transfer(error))
        }
    }

    /// wIndex 20: the device ID (the device sends uppercase; returned lowercase).
    public func deviceID() async throws(ControlRequestError) -> String { try await read(20, name: "legacy device ID (0x50/20)").lowercased() }
    /// wIndex 30: the Device OS version (fails before 0.6.0).
    public func systemVersion() async throws(ControlRequestError) -> String { try await read(30, name: "legacy system version (0x50/30)") }
    /// wIndex 40: reset now (Device OS 2.0.0 and later).
    public func reset() async throws(ControlRequestError) { try await command(40, name: "legacy reset (0x50/40)") }
    /// wIndex 302: abort the cloud connection.
    public func abortCloudConnection() async throws(ControlRequestError) { try await command(302, name: "legacy cloud abort (0x50/302)") }
}
