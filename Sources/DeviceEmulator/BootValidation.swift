import FirmwareModules
import ParticleDevices

/// What Device OS would find at boot: each module in its slot, whether it is valid, and why
/// not. Checks as `fetch_module` and `validate_module_dependencies` do: range, platform,
/// CRC integrity, and every dependency met by a valid module (version >= required).
public struct BootReport: Hashable, Sendable, CustomStringConvertible {
    public struct Entry: Hashable, Sendable {
        public let slot: String
        public let address: UInt32
        public let identity: ModuleIdentity
        public let problems: [String]
        /// Its suffix's SHA-256 field (nil for the radio stack, known by its record).
        public var sha256: [UInt8]? = nil
        public var valid: Bool { problems.isEmpty }
    }

    public let entries: [Entry]
    /// Slots where nothing valid-looking was found.
    public let empty: [String]

    /// Bootloader, system parts and (Gen 3) radio stack present and valid: the device runs
    /// Device OS. The application, if present, must be valid too.
    public let bootable: Bool

    public func entry(_ function: ModuleFunction, index: UInt8 = 0) -> Entry? {
        entries.first { $0.identity.function == function && $0.identity.index == index }
    }

    public var description: String {
        var lines = entries.map { e in
            "\(e.slot) @0x\(String(e.address, radix: 16)): \(e.identity.function) #\(e.identity.index) v\(e.identity.version) "
                + (e.valid ? "valid" : "INVALID: " + e.problems.joined(separator: "; "))
        }
        lines += empty.map { "\($0): empty" }
        lines.append(bootable ? "bootable" : "NOT bootable")
        return lines.joined(separator: "\n")
    }
}

extension EmulatedDFUDevice {
    /// Validates what is in flash, as the device would at boot.
    public func bootReport() -> BootReport {
        let platform = configuration.platform
        guard let slots = platform.moduleSlots else { return BootReport(entries: [], empty: [], bootable: false) }
        var entries: [BootReport.Entry] = []
        var empty: [String] = []
        var found: [(entry: String, address: UInt32, module: FirmwareModule?, problems: [String], slot: ModuleIdentity)] = []

        func probe(_ name: String, _ slot: ModuleSlot, _ function: ModuleFunction) {
            guard let start = slot.start else { return }
            let starts = [start] + (slot.alternateStarts ?? [])
            for candidate in starts {
                if let (module, problems) = readModule(at: candidate, function: function) {
                    found.append((name, candidate, module, problems, ModuleIdentity(function: function, index: slot.index, version: 0)))
                    return
                }
            }
            empty.append(name)
        }
        probe("bootloader", slots.bootloader, .bootloader)
        for part in slots.systemParts { probe("system part \(part.index)", part, .systemPart) }
        for user in slots.userParts { probe("user part \(user.index)", user, .userPart) }

        var identities: [ModuleIdentity] = found.compactMap { $0.problems.isEmpty ? $0.module?.header.identity : nil }
        if let radio = slots.radioStack, let start = radio.start {
            let region = memories[0].read(start, count: Int(radio.size ?? 0))
            if let firmwareID = SoftDeviceInfo.firmwareID(in: region, base: start) {
                let identity = ModuleIdentity(function: .radioStack, index: 0, version: firmwareID)
                entries.append(BootReport.Entry(slot: "radio stack", address: start, identity: identity, problems: []))
                identities.append(identity)
            } else {
                empty.append("radio stack")
            }
        }
        if let ncp {
            let problems = ncp.crcValid ? [] : ["CRC mismatch"]
            entries.append(BootReport.Entry(slot: "NCP", address: 0, identity: ncp.header.identity, problems: problems, sha256: ncp.suffix.sha256))
            if problems.isEmpty { identities.append(ncp.header.identity) }
        }
        for item in found {
            guard let module = item.module else {
                entries.append(BootReport.Entry(slot: item.entry, address: item.address, identity: item.slot, problems: item.problems))
                continue
            }
            var problems = item.problems
            if problems.isEmpty {
                for dependency in module.header.dependencies where !dependency.isSatisfied(by: identities) {
                    problems.append("needs \(dependency.function) #\(dependency.index) >= \(dependency.version)")
                }
            }
            entries.append(BootReport.Entry(slot: item.entry, address: item.address, identity: module.header.identity, problems: problems, sha256: module.suffix.sha256))
        }
        entries.sort { $0.address < $1.address }
        let systemValid = slots.systemParts.allSatisfy { part in entries.contains { $0.identity.function == .systemPart && $0.identity.index == part.index && $0.valid } }
        let bootValid = entries.contains { $0.identity.function == .bootloader && $0.valid }
        let radioValid = slots.radioStack == nil || entries.contains { $0.identity.function == .radioStack && $0.valid }
        let usersValid = entries.filter { $0.identity.function == .userPart }.allSatisfy(\.valid)
        return BootReport(entries: entries, empty: empty, bootable: systemValid && bootValid && radioValid && usersValid)
    }

    /// Looks for a module whose header says it starts at `address` (prefix at 0, 0x184 or
    /// 0x200), and checks it as Device OS's `fetch_module` would.
    func readModule(at address: UInt32, function: ModuleFunction) -> (FirmwareModule?, [String])? {
        let memory = memories[0]
        let span = 0x200 + ModuleHeader.size
        guard memory.contains(address, count: span),
            let header = ModuleHeader.located(in: memory.read(address, count: span), moduleStart: address, function: function)
        else { return nil }
        let end = header.endAddress
        guard memory.contains(address, count: Int(end - address) + 4) else {
            return (nil, ["end address 0x\(String(end, radix: 16)) is outside flash"])
        }
        do {
            let module = try FirmwareModule(bytes: memory.read(address, count: Int(end - address) + 4))
            var problems: [String] = []
            if !module.crcValid { problems.append("CRC mismatch") }
            if module.header.platformID != configuration.platform.id.rawValue {
                problems.append("built for platform \(module.header.platformID), this is \(configuration.platform.id)")
            }
            return (module, problems)
        } catch {
            return (nil, ["unreadable: \(error.description)"])
        }
    }
}

extension EmulatedDFUDevice {
    /// The modules the firmware reports (request 90) once it boots from this flash.
    public func installedModules() -> [EmulatedModule] {
        bootReport().entries.map {
            EmulatedModule(function: $0.identity.function, index: $0.identity.index, version: $0.identity.version, size: 0, valid: $0.valid, sha256: $0.sha256)
        }
    }
}
