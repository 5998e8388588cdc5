import DFU
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
    /// one always, one in Service Mode unless the line allows it.
    public static func check(_ state: DeviceProtection?, allowServiceMode: Bool) throws(PlanRefusal) {
        switch state {
        case .protected: throw .protectedDevice
        case .service where !allowServiceMode: throw .serviceMode
        default: return
        }
    }
}
