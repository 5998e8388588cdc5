import Foundation
import ParticleDevices
import Testing

/// The Device Protection facts the station acts on, as the docs give them
/// (`particle-cloud-and-factory.md` §8, `particle-module-format.md` §10): a wrong value is a
/// change to `device-protection.json`, and this table says which.
@Suite struct DeviceProtectionRulesTests {
    let rules = DeviceProtectionRules.bundled

    @Test func theMinimumsAreDeviceOS611() {
        #expect(rules.minimumDeviceOS == "6.1.1")
        #expect(rules.minimumSystemPart == 6101)
        #expect(rules.minimumBootloader == 3001)
        // The bootloader minimum is for Gen 3: every Gen 3 cellular platform, no Gen 2.
        for name in ["boron", "bsom", "b5som", "tracker", "esomx"] { #expect(rules.bootloaderMinimumPlatforms.contains(name), "\(name)") }
        #expect(!rules.bootloaderMinimumPlatforms.contains("electron"))
        // The minimums are releases the version table knows as such.
        #expect(DeviceOSVersionTable.bundled.release(for: rules.minimumSystemPart, kind: .systemPart) == "6.1.1")
        #expect(DeviceOSVersionTable.bundled.release(for: rules.minimumBootloader, kind: .bootloader) == "6.1.1")
    }

    /// Over USB a protected device answers APP_CUSTOM (10), DEVICE_ID (20) and
    /// GET_PROTECTED_STATE (76); listening mode (70), DFU (50), reset (40) and the rest get
    /// -1801.
    @Test func aProtectedDeviceAnswersOnlyWhatProtectionLetsThrough() {
        #expect(rules.allowedWhenProtected == [10, 20, 76])
        for refused: UInt16 in [21, 30, 40, 50, 60, 70, 72, 73, 90, 250, 302, 554] { #expect(!rules.allowedWhenProtected.contains(refused), "\(refused)") }
    }

    @Test func everyPlatformsProtectedProductNeedsTheProtectedBootloader() {
        for platform in PlatformCatalog.bundled.provisionable { #expect(rules.needsProtectedBootloader(platform: platform.name), "\(platform.name)") }
    }

    @Test func aBrokenRulesFileIsRefused() {
        let broken = #"{"allowedWhenProtected": {"requests": [20]}, "minimums": {"deviceOS": "six", "systemPart": 1, "bootloader": 1, "bootloaderPlatforms": []}, "protectedBootloader": {"platforms": null}}"#
        #expect(throws: CatalogError.self) { _ = try DeviceProtectionRules(json: Data(broken.utf8)) }
        #expect(throws: (any Error).self) { _ = try DeviceProtectionRules(json: Data("{}".utf8)) }
    }
}
