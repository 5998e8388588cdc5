import DFU
import FirmwareModules
import ParticleDevices

extension DeviceProtection {
    /// What a device in DFU mode says of its protection, read before anything else: string
    /// descriptor 0xFA where the bootloader has it (Device OS 6.1.2+); otherwise a layout
    /// whose every segment is `b` (not readable, not writable) means protected. Nil: it
    /// cannot say (an older bootloader with a writable layout).
    public static func reported(by session: DfuSeSession) -> DeviceProtection? {
        if let text = session.protectionText, let state = DeviceProtection(dfuDescriptor: text) { return state }
        return session.layout.isProtected ? .protected : nil
    }

    /// Refuses, before anything is read or written, a unit USB may not write: a protected
    /// one always, one in Service Mode unless the line allows it. A Service Mode unit stays a
    /// protected device, so the firmware it is given must keep it one (as particle-cli's
    /// `maintainDeviceProtection` checks): no system part below the protected minimum (the
    /// cloud refuses downgrades below 6.x), no open bootloader (written, it would take the
    /// unit's protection away). `modules` are the files to flash (empty: the state alone).
    public static func check(_ state: DeviceProtection?, allowServiceMode: Bool, modules: [PlannedModule],
                             rules: DeviceProtectionRules = .bundled) throws(PlanRefusal) {
        switch state {
        case .protected: throw .protectedDevice
        case .service where !allowServiceMode: throw .serviceMode
        case .service:
            for item in modules where item.module.header.function == .systemPart && item.module.header.version < rules.minimumSystemPart {
                throw .unfitForProtected(file: item.name, reason: "its system part is version \(item.module.header.version), below Device OS \(rules.minimumDeviceOS) (\(rules.minimumSystemPart)), the least a protected device takes")
            }
            for item in modules where item.module.header.function == .bootloader && item.module.header.index == 0 && item.module.securityMode != 1 {
                throw .unfitForProtected(file: item.name, reason: "it is the open bootloader, and written it would take the unit's Device Protection away; a protected product's manifest carries the protected bootloader (SECURITY_MODE)")
            }
        default: return
        }
    }
}
