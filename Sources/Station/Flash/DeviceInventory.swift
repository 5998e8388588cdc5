import DFU
import TextFormats
import FirmwareModules
import ParticleDevices

/// What a device in DFU mode holds, read back over DFU: each catalog slot's module (header
/// at the slot start, +0x184 or +0x200), checked for CRC and platform, and the radio stack
/// by the SoftDevice's info record. The input to the planner's final-image check.
public enum DeviceInventory {
    public struct Found: Hashable, Sendable {
        /// The module; not valid when its CRC or platform is wrong. A module read by its
        /// header only (`checked` false) counts as valid until `check` reads it whole.
        public let installed: InstalledModule
        public var valid: Bool { installed.valid }
        /// Where it starts in flash (an inventory always knows).
        public var address: UInt32 { installed.address ?? 0 }
        public let problem: String?
        /// The bytes read: the whole module, or its header span only (nil for the radio
        /// stack, known by its record).
        public let readBack: ReadBack?
        /// True when the whole module was read and its CRC checked.
        public let checked: Bool
        /// Bytes from the slot start to the end of the CRC (0 for the radio stack).
        public let length: Int

        init(installed identity: ModuleIdentity, address: UInt32, valid: Bool, problem: String?, readBack: ReadBack?, checked: Bool, length: Int, sha256: String? = nil) {
            installed = InstalledModule(identity: identity, valid: valid, address: address, sha256: sha256)
            self.problem = problem
            self.readBack = readBack
            self.checked = checked
            self.length = length
        }
    }

    /// How much of each module to read.
    public enum Depth: Sendable {
        /// Each module whole, CRC checked.
        case whole
        /// The header span only (one transfer per slot); `check` reads a module whole later.
        case headers
    }

    public static func read(_ session: DfuSeSession, platform: Platform, depth: Depth = .whole) async throws(DFUError) -> [Found] {
        guard let slots = platform.moduleSlots else { return [] }
        try await session.ensureIdle()
        // Every place a module header can be, and the SoftDevice's record, in one batch of
        // reads (one SET_ADDRESS for all of them).
        let span = 0x200 + ModuleHeader.size
        var probes: [(ModuleSlot, ModuleFunction)] = [(slots.bootloader, .bootloader)]
        probes += slots.systemParts.map { ($0, .systemPart) }
        probes += slots.userParts.map { ($0, .userPart) }
        var candidates: [(function: ModuleFunction, slot: Int, address: UInt32)] = []
        for (index, (slot, function)) in probes.enumerated() where slot.path == .dfu || function == .bootloader {
            guard let start = slot.start else { continue }
            for candidate in [start] + (slot.alternateStarts ?? []) where readable(session, candidate, span) {
                candidates.append((function, index, candidate))
            }
        }
        let radioRecord = slots.radioStack?.start != nil && readable(session, SoftDeviceInfo.address, 16)
        var ranges = candidates.map { (address: $0.address, count: span) }
        if radioRecord { ranges.append((SoftDeviceInfo.address, 16)) }
        let reads = try await session.read(ranges: ranges)

        var found: [Found] = []
        var settled = Set<Int>()
        for (candidate, head) in zip(candidates, reads) where !settled.contains(candidate.slot) {
            if let item = try await module(session, head: head, at: candidate.address, function: candidate.function, platform: platform, depth: depth) {
                found.append(item)
                settled.insert(candidate.slot)
            }
        }
        if radioRecord, let record = reads.last, let radio = slots.radioStack, let start = radio.start,
            let id = SoftDeviceInfo.firmwareID(in: record, base: SoftDeviceInfo.address)
        {
            found.append(Found(installed: ModuleIdentity(function: .radioStack, index: 0, version: id), address: start,
                               valid: true, problem: nil, readBack: nil, checked: true, length: 0))
        }
        return found
    }

    /// Reads a module found by its header whole and checks its CRC.
    public static func check(_ item: Found, _ session: DfuSeSession, platform: Platform) async throws(DFUError) -> Found {
        guard !item.checked, item.length > 0 else { return item }
        let address = item.address
        let bytes = try await session.read(at: address, count: item.length)
        return judge(bytes, at: address, identity: item.installed.identity, platform: platform)
    }

    /// The module whose header span `head` is (read at `address`), if there is one.
    static func module(_ session: DfuSeSession, head: [UInt8], at address: UInt32, function: ModuleFunction, platform: Platform, depth: Depth) async throws(DFUError) -> Found? {
        // The end address is the device's word: a module longer than any platform holds is
        // not one (and is never read whole).
        guard let header = ModuleHeader.located(in: head, moduleStart: address, function: function),
            Int(header.endAddress - address) + 4 <= FirmwareModule.maximumSize,
            readable(session, address, Int(header.endAddress - address) + 4)
        else { return nil }
        let length = Int(header.endAddress - address) + 4
        switch depth {
        case .headers:
            let wrongPlatform = header.platformID != platform.id.rawValue
            return Found(installed: header.identity, address: address, valid: !wrongPlatform,
                         problem: wrongPlatform ? "wrong platform" : nil, readBack: ReadBack(address: address, bytes: head),
                         checked: false, length: length)
        case .whole:
            let bytes = length <= head.count ? Array(head.prefix(length)) : try await session.read(at: address, count: length)
            let found = judge(bytes, at: address, identity: header.identity, platform: platform)
            return found.problem == "not a module" ? nil : found
        }
    }

    static func judge(_ bytes: [UInt8], at address: UInt32, identity: ModuleIdentity, platform: Platform) -> Found {
        guard let module = try? FirmwareModule(bytes: bytes) else {
            return Found(installed: identity, address: address, valid: false, problem: "not a module",
                         readBack: ReadBack(address: address, bytes: bytes), checked: true, length: bytes.count)
        }
        let problem: String? = !module.crcValid ? "CRC mismatch" : module.header.platformID != platform.id.rawValue ? "wrong platform" : nil
        return Found(installed: module.header.identity, address: address, valid: problem == nil, problem: problem,
                     readBack: ReadBack(address: address, bytes: bytes), checked: true, length: bytes.count, sha256: Hex.encode(module.suffix.sha256))
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

    /// The bytes from `address` to the end of this read, if it covers `address`.
    public func suffix(from address: UInt32) -> [UInt8]? {
        guard address >= self.address, UInt64(address) < UInt64(self.address) + UInt64(bytes.count) else { return nil }
        return Array(bytes[Int(address - self.address)...])
    }

    /// The part covering `[address, address + count)`, if this read covers all of it.
    public func slice(_ address: UInt32, count: Int) -> [UInt8]? {
        guard address >= self.address, UInt64(address) + UInt64(count) <= UInt64(self.address) + UInt64(bytes.count) else { return nil }
        let from = Int(address - self.address)
        return Array(bytes[from..<(from + count)])
    }
}
