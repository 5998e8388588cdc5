import FirmwareModules
import ParticleDevices

/// A Device OS-shaped module set made with the project's own module writer, for `station
/// demo` and the emulator: the real firmware binaries are never shipped.
public struct DemoFirmware: Sendable {
    public struct Module: Sendable {
        public let name: String
        public let bytes: [UInt8]
    }

    public let platform: Platform
    public let modules: [Module]

    /// Device OS 6.2.0's module versions: bootloader 3100, radio stack 202, system part 6200,
    /// user part 6 (the table in `particle-module-format.md` section 9).
    public static let bootloaderVersion: UInt16 = 3100
    public static let radioStackVersion: UInt16 = 202
    public static let systemVersion: UInt16 = 6200
    public static let userPartVersion: UInt16 = 6

    /// Builds the set for a Gen 3 platform of the catalog.
    /// - Parameters:
    ///   - payloadScale: bytes of payload per module kind, scaled down for quick demos.
    ///   - product: the product ID and firmware version stamped into the user part.
    /// - Throws: `ModuleError.unwritable` if the catalog's slots cannot hold the modules.
    public init(platform: Platform, payloadSize: Int = 16 * 1024, product: (id: UInt16, version: UInt16)) throws(ModuleError) {
        guard let slots = platform.moduleSlots, let radio = slots.radioStack, let radioStart = radio.start,
            let system = slots.systemParts.first, let systemStart = system.start,
            let user = slots.userParts.first(where: { $0.legacy != true }), let userStart = user.start,
            let bootStart = slots.bootloader.start
        else { throw .unwritable(reason: "\(platform.name) has no Gen 3 module slots in the catalog") }
        let id = platform.id.rawValue
        let vectorTable = Self.vectorTable(size: 0x200)
        func payload(_ seed: UInt32) -> [UInt8] { Self.pseudoRandom(count: payloadSize, seed: seed) }

        let bootloader = try ModuleWriter.write(ModuleSpec(
            header: ModuleHeader(startAddress: bootStart, endAddress: 0, version: Self.bootloaderVersion, platformID: id, function: .bootloader, index: 0),
            leadingBytes: vectorTable, payload: payload(1), product: (id: 0, version: 0)))
        let radioStack = try ModuleWriter.write(ModuleSpec(
            header: ModuleHeader(
                startAddress: radioStart, endAddress: 0, flags: .dropModuleInfo, version: Self.radioStackVersion, platformID: id,
                function: .radioStack, index: 0,
                dependency: ModuleDependency(function: .bootloader, index: 0, version: Self.bootloaderVersion),
                dependency2: ModuleDependency(function: .systemPart, index: 1, version: Self.systemVersion)),
            payload: payload(2), shaRule: .payloadOnly))
        let systemPart = try ModuleWriter.write(ModuleSpec(
            header: ModuleHeader(
                startAddress: systemStart, endAddress: 0, version: Self.systemVersion, platformID: id, function: .systemPart, index: system.index,
                dependency: ModuleDependency(function: .bootloader, index: 0, version: Self.bootloaderVersion),
                dependency2: ModuleDependency(function: .radioStack, index: 0, version: Self.radioStackVersion)),
            leadingBytes: vectorTable, payload: payload(3), product: (id: 0xFFFF, version: 0xFFFF)))
        let userPart = try ModuleWriter.write(ModuleSpec(
            header: ModuleHeader(
                startAddress: userStart, endAddress: 0, version: Self.userPartVersion, platformID: id, function: .userPart, index: user.index,
                dependency: ModuleDependency(function: .systemPart, index: system.index, version: Self.systemVersion)),
            payload: payload(4), product: product))
        self.platform = platform
        modules = [
            Module(name: "\(platform.name)-bootloader@6.2.0.bin", bytes: bootloader),
            Module(name: "\(platform.name)-softdevice@6.2.0.bin", bytes: radioStack),
            Module(name: "\(platform.name)-system-part1@6.2.0.bin", bytes: systemPart),
            Module(name: "\(platform.name)-product-firmware.bin", bytes: userPart),
        ]
    }

    /// A vector table whose first word is an initial stack pointer in RAM, as the MCU needs;
    /// this is what puts the prefix at 0x200 on Gen 3.
    static func vectorTable(size: Int) -> [UInt8] {
        var table = [UInt8](repeating: 0, count: size)
        let stack: UInt32 = 0x2004_0000
        for i in 0..<4 { table[i] = UInt8(truncatingIfNeeded: stack >> UInt32(8 * i)) }
        return table
    }

    /// Deterministic filler (xorshift32), so demo images are the same on every run.
    static func pseudoRandom(count: Int, seed: UInt32) -> [UInt8] {
        var state = seed &* 2_654_435_761 | 1
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 17
            state ^= state << 5
            return UInt8(truncatingIfNeeded: state)
        }
    }
}
