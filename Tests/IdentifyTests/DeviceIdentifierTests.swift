import Clocks
import ControlRequests
import DeviceEmulator
import FirmwareModules
import Foundation
import ListeningConsole
import ParticleDevices
import Seams
import Station
import Testing

/// The identifier against emulated devices with random identities: the values must come
/// back equal, each from the channel the device's platform and Device OS offer.
@Suite struct DeviceIdentifierTests {
    func platform(_ name: String) -> Platform { PlatformCatalog.bundled.platform(named: name)! }

    func identify(_ device: EmulatedNormalDevice, console: Bool = true) async -> DeviceIdentity {
        let identifier = DeviceIdentifier()
        let start = identifier.start(port: "1-1", productID: await device.platform.usb!.normalProductID, usbSerial: await device.deviceID)
        let requests = ControlRequests(channel: ControlChannel(transport: device, clock: ImmediateClock()))
        let opener: (@Sendable () async throws -> ListeningConsole)? = console ? { @Sendable in
            var console = ListeningConsole(stream: EmulatedSerialStream(device), clock: ContinuousClock())
            console.quiet = .milliseconds(30)
            console.answerTimeout = .seconds(5)
            return console
        } : nil
        return await identifier.identifyNormal(start, requests: requests, openConsole: opener)
    }

    let modules = [EmulatedModule(function: .bootloader, index: 0, version: 3100, size: 49_152),
                   EmulatedModule(function: .systemPart, index: 1, version: 6101, size: 900_000),
                   EmulatedModule(function: .userPart, index: 2, version: 6, size: 4_000, valid: false)]

    @Test func gen3WithIMEIOverControlRequestsOnly() async throws {
        var profile = TestIdentities.profile()
        profile.simActive = true
        let device = EmulatedNormalDevice(platform: platform("boron"), profile: profile, deviceOS: "6.1.0", modules: modules)
        await device.powerOn()
        let identity = await identify(device)
        #expect(identity.deviceID == profile.deviceID.rawValue)
        #expect(identity.serialNumber == profile.serial?.rawValue)
        #expect(identity.iccid == profile.iccid?.rawValue && identity.imei == profile.imei?.rawValue)
        #expect(identity.deviceOSVersion == "6.1.0")
        #expect(identity.platform == "boron" && identity.platformID == 13 && identity.mode == .listening)
        #expect(identity.modules == [.init(identity: ModuleIdentity(function: ModuleFunction(rawValue: 2), index: 0, version: 3100), valid: true),
                                     .init(identity: ModuleIdentity(function: ModuleFunction(rawValue: 4), index: 1, version: 6101), valid: true),
                                     .init(identity: ModuleIdentity(function: ModuleFunction(rawValue: 5), index: 2, version: 6), valid: false)])
        for field in ["deviceID", "serialNumber", "iccid", "imei", "deviceOSVersion", "modules"] {
            #expect(identity.sources[field] == .controlRequest, "\(field)")
        }
        #expect(identity.sources["platform"] == .usbDescriptor)
        #expect(!identity.incomplete, "\(identity.notes)")
        // Identifying it kept it off the cloud.
        #expect(await device.events.contains { $0.kind == .stopped("listening mode") })
        #expect(await !device.connected)
    }

    @Test func electronICCIDAndIMEIComeFromTheConsole() async throws {
        let profile = TestIdentities.profile()
        let device = EmulatedNormalDevice(platform: platform("electron"), profile: profile, deviceOS: "2.3.1", modules: modules, clock: ImmediateClock())
        let identity = await identify(device)
        #expect(identity.deviceID == profile.deviceID.rawValue && identity.deviceOSVersion == "2.3.1")
        #expect(identity.iccid == profile.iccid?.rawValue && identity.imei == profile.imei?.rawValue)
        #expect(identity.sources["iccid"] == .console && identity.sources["imei"] == .console)
        #expect(identity.sources["deviceOSVersion"] == .controlRequest)
        #expect(!identity.incomplete, "\(identity.notes)")
    }

    @Test(arguments: ["5.0.0", "6.0.0"])
    func imeiBeforeItCameWith554ComesFromTheConsole(os: String) async throws {
        let profile = TestIdentities.profile()
        let device = EmulatedNormalDevice(platform: platform("bsom"), profile: profile, deviceOS: os, clock: ImmediateClock())
        let identity = await identify(device)
        #expect(identity.iccid == profile.iccid?.rawValue && identity.sources["iccid"] == .controlRequest)
        #expect(identity.imei == profile.imei?.rawValue && identity.sources["imei"] == .console)
    }

    @Test func withoutAConsoleMissingValuesAreNullNotGuesses() async throws {
        let profile = TestIdentities.profile()
        let device = EmulatedNormalDevice(platform: platform("electron"), profile: profile, deviceOS: "2.3.1", clock: ImmediateClock())
        let identity = await identify(device, console: false)
        #expect(identity.iccid == nil && identity.imei == nil)
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(identity)) as! [String: Any]
        #expect(json["iccid"] is NSNull && json["imei"] is NSNull)
        #expect(Set(json.keys).isSuperset(of: ["deviceID", "platform", "platformID", "mode", "serialNumber", "iccid", "imei", "deviceOSVersion", "modules", "sources"]))
        #expect((json["sources"] as? [String: String])?["deviceID"] == "control-request")
    }

    @Test func aSerialStringThatIsNotADeviceIDIsNotUsed() {
        let identity = DeviceIdentifier().start(port: "1-2", productID: 0xc00d, usbSerial: "Particle_Electron")
        #expect(identity.deviceID == nil && identity.platform == "boron")
        #expect(identity.notes.contains { $0.contains("not a device ID") })
    }
}

/// Device Protection in `station identify`: the state the device reports, or null.
@Suite struct IdentifyProtectionTests {
    @Test(arguments: [(DeviceProtection.open, "6.2.0", DeviceProtection?.some(.open)), (.protected, "6.2.0", .protected), (.service, "6.2.0", .service),
                      (.protected, "5.9.0", nil)])
    func normalModeReadsRequest76FromDeviceOS6(protection: DeviceProtection, os: String, shown: DeviceProtection?) async throws {
        let boron = try #require(PlatformCatalog.bundled.platform(named: "boron"))
        var profile = TestIdentities.profile()
        profile.protection = protection
        let device = EmulatedNormalDevice(platform: boron, profile: profile, deviceOS: os, clock: ImmediateClock())
        let requests = ControlRequests(channel: ControlChannel(transport: device, clock: ImmediateClock()))
        let identifier = DeviceIdentifier()
        let identity = await identifier.identifyNormal(identifier.start(port: "1-1", productID: 0xC00D, usbSerial: profile.deviceID.rawValue),
                                                       requests: requests, openConsole: nil)
        #expect(identity.protection == shown)
        let json = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(identity)) as? [String: Any])
        #expect(json.keys.contains("protection"))
        if let shown { #expect(json["protection"] as? String == shown.rawValue) } else { #expect(json["protection"] is NSNull) }
    }
}
