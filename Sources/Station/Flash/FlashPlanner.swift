import TextFormats
import DFU
import FirmwareModules
import ParticleDevices

/// Plans a flash. Pure: the same inputs give the same plan or the same refusal.
public enum FlashPlanner {
    /// A module the device already holds (read back in DFU mode or reported by the device):
    /// the one installed-module value.
    public typealias Installed = InstalledModule

    /// - Parameters:
    ///   - modules: the files to flash, in any order.
    ///   - platform: the device's platform (catalog entry).
    ///   - layout: the device's alt 0 memory layout.
    ///   - installed: valid modules the device already holds.
    ///   - expectedProductID: the product this line makes, if the check is wanted.
    ///   - deviceProtected: the device reports protection (every segment `b`).
    /// - Throws: `PlanRefusal`, before anything touches the device.
    public static func plan(
        _ modules: [PlannedModule], platform: Platform, layout: DfuSeLayout, installed: [Installed],
        expectedProductID: UInt16? = nil, deviceProtected: Bool = false
    ) throws(PlanRefusal) -> FlashPlan {
        var seen: [ModuleIdentity: String] = [:]
        for item in modules {
            let m = item.module, h = m.header
            guard h.platformID == platform.id.rawValue else { throw .wrongPlatform(file: item.name, found: h.platformID, expected: platform.id) }
            guard m.crcValid else { throw .integrity(file: item.name, what: "CRC stored \(Hex.word(m.storedCRC)), computed \(Hex.word(m.computedCRC))") }
            guard m.sha256Valid else { throw .integrity(file: item.name, what: "the SHA-256 field does not match the contents") }
            guard m.sizeMatchesAddresses else { throw .integrity(file: item.name, what: "the file size does not match its addresses") }
            if h.flags.contains(.compressed) || h.flags.contains(.combined) {
                throw .unsupportedModule(file: item.name, reason: "compressed or combined modules are for over-the-air updates; use the plain module")
            }
            if h.flags.contains(.encrypted) { throw .unsupportedModule(file: item.name, reason: "encrypted modules are not supported") }
            let key = ModuleIdentity(function: h.function, index: h.index, version: 0)
            if let other = seen[key] { throw .duplicate(file: item.name, other: other) }
            seen[key] = item.name
            if let expected = expectedProductID, h.function == .userPart, let found = m.productID,
                found != 0xFFFF, found != platform.id.rawValue, found != expected
            {
                throw .productMismatch(file: item.name, found: found, expected: expected)
            }
        }

        let viaControlRequest: Set<ModuleFunction> = [.bootloader, .ncpFirmware, .asset]
        if deviceProtected, modules.contains(where: { !viaControlRequest.contains($0.module.header.function) }) {
            throw .protectedDevice
        }

        // Final image: what stays plus what is planned; dependencies are checked against it,
        // never by sorting (they are circular).
        let planned = modules.map(\.module.header.identity)
        let staying = installed.map(\.identity).filter { old in !planned.contains { $0.function == old.function && $0.index == old.index } }
        let finalImage = staying + planned
        for item in modules {
            for dependency in item.module.header.dependencies where !dependency.isSatisfied(by: finalImage) {
                throw .unmetDependency(module: item.name, needs: "\(dependency.function) #\(dependency.index) version \(dependency.version) or later")
            }
        }

        var steps: [FlashStep] = []
        for item in modules.sorted(by: order) {
            let h = item.module.header
            let image = item.module.flashImage
            if viaControlRequest.contains(h.function) {
                // The device reports the same module valid (module info or DFU inventory):
                // a control-request update cannot be read back to compare, and would only
                // write the same release again.
                if installed.contains(where: { $0.identity == h.identity }) { continue }
                steps.append(FlashStep(
                    name: item.name, kind: .module(h.identity), path: .controlRequest, address: image.address, bytes: Array(item.module.bytes),
                    reason: "\(h.function) modules are written by the device itself (control-request update in normal mode), not over DFU"))
                continue
            }
            do {
                _ = try ErasePlan.pages(for: [ErasePlan.Write(address: image.address, bytes: Array(image.bytes))], in: layout)
            } catch {
                let reason = switch error {
                case .outsideLayout: "outside the device's memory (\(layout.name))"
                case .notWritable(let page): "the memory at 0x\(String(page, radix: 16)) is read-only"
                case .overlappingWrites: "it overlaps another module"
                }
                throw .notWritable(file: item.name, address: image.address, reason: reason)
            }
            let drop = h.flags.contains(.dropModuleInfo) ? "; its 24-byte prefix is not written (DROP_MODULE_INFO)" : ""
            steps.append(FlashStep(
                name: item.name, kind: .module(h.identity), path: .dfu, address: image.address, bytes: Array(image.bytes),
                reason: "\(h.function) #\(h.index) v\(h.version) at its header's start address\(drop)"))
        }
        if let step = legacyUserPartStep(planned: modules, platform: platform, installed: installed, layout: layout) {
            steps.append(step)
        }
        try checkPagesAreNotShared(steps.filter { $0.path == .dfu }, layout: layout)
        return FlashPlan(platform: platform.id, steps: steps, finalImage: finalImage)
    }

    /// Particle's order: control-request modules (bootloader, NCP) first, then radio stack,
    /// system parts by index, user part last.
    /// When only a plan's DFU steps run (the device is flashed in DFU mode and no normal-mode
    /// update follows): the first written module whose dependency would then be missing,
    /// because only a control-request step would install it. Nil: the device would boot.
    public static func unmetWithoutControlRequests(_ modules: [PlannedModule], plan: FlashPlan, installed: [Installed]) -> PlanRefusal? {
        let deferred = plan.controlRequestSteps.map(\.name)
        guard !deferred.isEmpty else { return nil }
        let written = modules.filter { module in !deferred.contains(module.name) }
        let planned = written.map(\.module.header.identity)
        let staying = installed.map(\.identity).filter { old in !planned.contains { $0.function == old.function && $0.index == old.index } }
        let image = staying + planned
        for item in written {
            for dependency in item.module.header.dependencies where !dependency.isSatisfied(by: image) {
                return .needsNormalMode(module: item.name, needs: "\(dependency.function) #\(dependency.index) version \(dependency.version) or later", deferred: deferred)
            }
        }
        return nil
    }

    static func order(_ a: PlannedModule, _ b: PlannedModule) -> Bool {
        func rank(_ f: ModuleFunction) -> Int {
            switch f {
            case .bootloader: 0
            case .ncpFirmware: 1
            case .radioStack: 2
            case .systemPart: 3
            case .monoFirmware: 4
            case .userPart: 5
            default: 6
            }
        }
        let (ha, hb) = (a.module.header, b.module.header)
        return (rank(ha.function), ha.index) < (rank(hb.function), hb.index)
    }

    /// A 256 KB user part (index 2) that does not reach the legacy slot leaves an old 128 KB
    /// application there; erase its first page so it can never start.
    static func legacyUserPartStep(planned: [PlannedModule], platform: Platform, installed: [Installed], layout: DfuSeLayout) -> FlashStep? {
        guard let slots = platform.moduleSlots,
            let legacy = slots.userParts.first(where: { $0.legacy == true }), let legacyStart = legacy.start,
            let app = planned.first(where: { $0.module.header.function == .userPart && $0.module.header.index != legacy.index }),
            installed.contains(where: { $0.identity.function == .userPart && $0.identity.index == legacy.index }),
            let page = layout.page(containing: UInt64(legacyStart))
        else { return nil }
        let image = app.module.flashImage
        guard UInt64(image.address) + UInt64(image.bytes.count) <= UInt64(page.start) else { return nil }
        return FlashStep(
            name: "legacy 128 KB application slot", kind: .invalidateLegacyUserPart, path: .dfu, address: page.start,
            bytes: [UInt8](repeating: 0xFF, count: Int(page.size)),
            reason: "the new application (index 2) needs Device OS 3.1+; the old 128 KB application at 0x\(String(legacyStart, radix: 16)) is erased so it cannot start")
    }

    /// Each erasable page may belong to one step only: erasing it for one module must never
    /// wipe another's bytes.
    static func checkPagesAreNotShared(_ steps: [FlashStep], layout: DfuSeLayout) throws(PlanRefusal) {
        var owner: [UInt32: String] = [:]
        for step in steps {
            for page in layout.pages(overlapping: UInt64(step.address), count: step.bytes.count) ?? [] where page.attributes.contains(.erasable) {
                if let other = owner[page.start] {
                    throw .notWritable(file: step.name, address: page.start, reason: "it shares the flash page at 0x\(String(page.start, radix: 16)) with \(other)")
                }
                owner[page.start] = step.name
            }
        }
    }
}
