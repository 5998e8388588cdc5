import ParticleDevices
import Testing

/// Device Protection's state as devices report it (`particle-usb-protocol.md`: DFU string
/// descriptor 0xFA `sm=o/p/s`, request 76 `state` and `overridden`).
@Suite struct DeviceProtectionTests {
    @Test(arguments: [("sm=o", DeviceProtection.open), ("sm=p", .protected), ("sm=s", .service), ("sm=p\0", .protected), (" sm=s ", .service)])
    func theDFUDescriptorNamesTheState(text: String, state: DeviceProtection) {
        #expect(DeviceProtection(dfuDescriptor: text) == state)
    }

    @Test(arguments: ["", "sm=", "sm=x", "SM=P", "sm=open", "@Internal Flash   /0x00000000/1*004Kb"])
    func anyOtherTextSaysNothing(text: String) {
        #expect(DeviceProtection(dfuDescriptor: text) == nil)
    }

    @Test func request76IsReadAsParticleCLIReadsIt() {
        #expect(DeviceProtection(protectedState: false, overridden: false) == .open)
        #expect(DeviceProtection(protectedState: true, overridden: false) == .protected)
        #expect(DeviceProtection(protectedState: true, overridden: true) == .service)
    }

    @Test func onlyAnOpenUnitOrAnAllowedServiceModeOneIsWritten() {
        #expect(DeviceProtection.open.allowsWrites(serviceModeAllowed: false))
        #expect(!DeviceProtection.protected.allowsWrites(serviceModeAllowed: true))
        #expect(!DeviceProtection.service.allowsWrites(serviceModeAllowed: false))
        #expect(DeviceProtection.service.allowsWrites(serviceModeAllowed: true))
    }
}
