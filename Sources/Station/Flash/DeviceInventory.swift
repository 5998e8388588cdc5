import DFU
import FirmwareModules
import ParticleDevices

/// What a device in DFU mode holds, read back over DFU: each catalog slot's module (header
/// at the slot start, +0x184 or +0x200), checked for CRC and platform, and the radio stack
/// by the SoftDevice's info record. The input to the planner's final-image check.
public enum DeviceInventory {
    public struct Found: Hashable, Sendable {
        public let installed: FlashPlanner.Installed
        public let valid: Bool
        public let problem: String?
        /// The module's bytes as read back (nil for the radio stack, known by its record).
        public let readBack: ReadBack?
    }

    public static func read(_ session: DfuSeSession, platform: Platform) async throws(DFUError) -> [Found] {
        guard let slots = platform.moduleSlots else { return [] }
        try await session.ensureIdle()
        var found: [Found] = []
        var probes: [(ModuleSlot, ModuleFunction)] = [(slots.bootloader, .bootloader)]
        probes += slots.systemParts.map { ($0, .systemPart) }
        probes += slots.userParts.map { ($0, .userPart) }
        for (slot, function) in probes where slot.path == .dfu || function == .bootloader {
            guard let start = slot.start else { continue }
            for candidate in [start] + (slot.alternateStarts ?? []) {
                if let item = try await module(session, at: candidate, function: function, platform: platform) {
                    found.append(item)
                    break
                }
            }
        }
        if let radio = slots.radioStack, let start = radio.start,
            session.layout.pages(overlapping: UInt64(SoftDeviceInfo.address), count: 16)?.allSatisfy({ $0.attributes.contains(.readable) }) == true
        {
            let record = try await session.read(at: SoftDeviceInfo.address, count: 16)
            if let id = SoftDeviceInfo.firmwareID(in: record, base: SoftDeviceInfo.address) {
                found.append(Found(installed: .init(identity: ModuleIdentity(function: .radioStack, index: 0, version: id), address: start), valid: true, problem: nil, readBack: nil))
            }
        }
        return found
    }

    static func module(_ session: DfuSeSession, at address: UInt32, function: ModuleFunction, platform: Platform) async throws(DFUError) -> Found? {
        // One read covers the three places a prefix can sit (0, 0x184, 0x200).
        let span = 0x200 + ModuleHeader.size
        guard readable(session, address, span) else { return nil }
        let head = try await session.read(at: address, count: span)
        guard let header = ModuleHeader.located(in: head, moduleStart: address, function: function),
            readable(session, address, Int(header.endAddress - address) + 4)
        else { return nil }
        let bytes = try await session.read(at: address, count: Int(header.endAddress - address) + 4)
        guard let module = try? FirmwareModule(bytes: bytes) else { return nil }
        let problem: String? = !module.crcValid ? "CRC mismatch" : module.header.platformID != platform.id.rawValue ? "wrong platform" : nil
        return Found(installed: .init(identity: module.header.identity, address: address), valid: problem == nil, problem: problem,
                     readBack: ReadBack(address: address, bytes: bytes))
    }

    static func readable(_ session: DfuSeSession, _ address: UInt32, _ count: Int) -> Bool {
        session.layout.pages(overlapping: UInt64(address), count: count)?.allSatisfy { $0.attributes.contains(.readable) } ?? false
    }
}

/// Bytes read from a device at an address, moments ago, in the same session.
public struct ReadBack: Hashable, Sendable {
    public let address: UInt32
    public let bytes: [UInt8]
    public init(address: UInt32, bytes: [UInt8]) {
        self.address = address
        self.bytes = bytes
    }

    /// The part covering `[address, address + count)`, if this read covers all of it.
    public func slice(_ address: UInt32, count: Int) -> [UInt8]? {
        guard address >= self.address, UInt64(address) + UInt64(count) <= UInt64(self.address) + UInt64(bytes.count) else { return nil }
        let from = Int(address - self.address)
        return Array(bytes[from..<(from + count)])
    }
}
