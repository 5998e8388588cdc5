import FirmwareModules
import ParticleDevices

/// Makes modules a real device would hold, with the project's module writer: a vector table
/// where the MCU needs one (prefix at 0x200 on Gen 3, 0x184 on Gen 2), a SoftDevice payload
/// carrying its info record, deterministic filler. For the demo, the emulator and tests.
public enum ModuleFactory {
    /// `protected`: the protected variant (a SECURITY_MODE suffix extension, mode 1, as
    /// binary-version-reader's `createProtectedModule` adds it): a protected product's.
    public static func bootloader(_ platform: Platform, version: UInt16, size: Int = 16 * 1024, protected: Bool = false) throws(ModuleError) -> FirmwareModule {
        let start = platform.moduleSlots?.bootloader.start ?? 0
        return try make(ModuleSpec(
            header: ModuleHeader(startAddress: start, endAddress: 0, version: version, platformID: platform.id.rawValue, function: .bootloader, index: 0),
            leadingBytes: vectorTable(platform), payload: filler(size, seed: 1), product: (id: 0xFFFF, version: 0xFFFF),
            suffixExtensions: protected ? [.securityMode(mode: 1, certificate: [])] : []))
    }

    /// A Gen 3 radio stack: DROP_MODULE_INFO, SHA-256 of the payload, the SoftDevice info
    /// record at flash 0x3000 carrying `version` as its firmware ID.
    public static func radioStack(
        _ platform: Platform, version: UInt16, size: Int = 16 * 1024, dependencies: [ModuleDependency] = []
    ) throws(ModuleError) -> FirmwareModule {
        let start = platform.moduleSlots?.radioStack?.start ?? 0x1000
        var payload = filler(max(size, 0x2100), seed: 2)
        let recordOffset = Int(SoftDeviceInfo.address - start)
        payload.replaceSubrange(recordOffset..<(recordOffset + 16), with: SoftDeviceInfo.record(firmwareID: version, softDeviceSize: 0x26000))
        return try make(ModuleSpec(
            header: ModuleHeader(
                startAddress: start, endAddress: 0, flags: .dropModuleInfo, version: version, platformID: platform.id.rawValue,
                function: .radioStack, index: 0,
                dependency: dependencies.first ?? .none, dependency2: dependencies.dropFirst().first ?? .none),
            payload: payload, shaRule: .payloadOnly))
    }

    public static func systemPart(
        _ platform: Platform, index: UInt8 = 1, version: UInt16, size: Int = 16 * 1024, dependencies: [ModuleDependency] = []
    ) throws(ModuleError) -> FirmwareModule {
        let start = platform.moduleSlots?.systemParts.first { $0.index == index }?.start ?? 0
        return try make(ModuleSpec(
            header: ModuleHeader(
                startAddress: start, endAddress: 0, version: version, platformID: platform.id.rawValue, function: .systemPart, index: index,
                dependency: dependencies.first ?? .none, dependency2: dependencies.dropFirst().first ?? .none),
            leadingBytes: vectorTable(platform), payload: filler(size, seed: 3 + UInt32(index)), product: (id: 0xFFFF, version: 0xFFFF)))
    }

    /// An application in the platform's current user-part slot (256 KB, index 2, on Gen 3).
    public static func userPart(
        _ platform: Platform, size: Int = 8 * 1024, requiresSystem: ModuleDependency, product: (id: UInt16, version: UInt16)
    ) throws(ModuleError) -> FirmwareModule {
        let slot = platform.moduleSlots?.userParts.first { $0.legacy != true }
        return try make(ModuleSpec(
            header: ModuleHeader(
                startAddress: slot?.start ?? 0, endAddress: 0, version: 6, platformID: platform.id.rawValue, function: .userPart,
                index: slot?.index ?? 1, dependency: requiresSystem),
            payload: filler(size, seed: 7), product: product))
    }

    /// An NCP (ESP32) module, as a Tracker holds one.
    public static func ncp(_ platform: Platform, version: UInt16, size: Int = 4 * 1024) throws(ModuleError) -> FirmwareModule {
        try make(ModuleSpec(
            header: ModuleHeader(startAddress: 0, endAddress: 0, reserved: 33, version: version, platformID: platform.id.rawValue, function: .ncpFirmware, index: 0),
            payload: filler(size, seed: 9), shaRule: .payloadOnly))
    }

    static func make(_ spec: ModuleSpec) throws(ModuleError) -> FirmwareModule {
        try FirmwareModule(bytes: ModuleWriter.write(spec))
    }

    /// A vector table whose first word is an initial stack pointer in RAM: what puts the
    /// prefix at 0x200 (Gen 3) or 0x184 (Gen 2).
    static func vectorTable(_ platform: Platform) -> [UInt8] {
        var table = [UInt8](repeating: 0, count: platform.mcu == .stm32f205 ? 0x184 : 0x200)
        table.replaceSubrange(0..<4, with: [0x00, 0x00, 0x04, 0x20])
        return table
    }

    /// Deterministic filler (xorshift32).
    public static func filler(_ count: Int, seed: UInt32) -> [UInt8] {
        var state = seed &* 2_654_435_761 | 1
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 17
            state ^= state << 5
            return UInt8(truncatingIfNeeded: state)
        }
    }
}
