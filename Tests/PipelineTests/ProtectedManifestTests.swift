import DeviceEmulator
import FirmwareModules
import Foundation
import ParticleDevices
import Station
import StationConfig
import Testing
import TestSupport

/// A product with Device Protection (`[product] device_protection = true`): its manifest is
/// checked against the protected minimums (Device OS 6.1.1: system part 6101, bootloader
/// 3001 on Gen 3) and must carry the protected bootloader (SECURITY_MODE, mode 1); a product
/// without it must not carry one.
@Suite struct ProtectedManifestTests {
    let boron = PlatformCatalog.bundled.platform(named: "boron")!

    func release(_ os: String = "6.2.0", protected: Bool) throws -> [(name: String, bytes: [UInt8])] {
        try DemoFirmware.release(boron, deviceOS: os, product: (4242, 3), deviceProtection: protected).map { ($0.name, Array($0.module.bytes)) }
    }

    func problems(_ files: [(name: String, bytes: [UInt8])], protected: Bool, platform: String = "boron", os: String = "6.2.0") -> [ManifestError] {
        let file = FirmwareManifestFile(name: "m", platform: platform, deviceOS: os, productID: 4242, productVersion: 3, deviceProtection: protected,
                                        modules: files.map { .init(file: $0.name, sha256: FileDigest.sha256($0.bytes)) })
        let contents = Dictionary(uniqueKeysWithValues: files.map { ($0.name, Optional($0.bytes)) })
        switch FirmwareManifest.examine(file, contents: contents) {
        case .success: return []
        case .failure(let problems): return problems.all
        }
    }

    @Test(arguments: ["6.1.1", "6.2.0"])
    func aProtectedReleaseAtTheMinimumsOrAboveIsAccepted(os: String) throws {
        let made = try FirmwareManifest.create(name: "p", files: try release(os, protected: true), deviceProtection: true)
        #expect(made.file.deviceProtection)
        let parsed = try FirmwareManifestFile.parse(made.file.toml, file: "manifest.toml")
        #expect(parsed.deviceProtection && made.file.toml.contains("device_protection = true"))
        #expect(problems(try release(os, protected: true), protected: true, os: os).isEmpty)
    }

    @Test func belowTheMinimumsIsRefused() throws {
        // Device OS 5.9.0's system part (5901 < 6101), with the protected bootloader.
        let old = problems(try release("5.9.0", protected: true), protected: true, os: "5.9.0")
        #expect(old.contains { $0.code == "MANIFEST-PROTECTION" && $0.file?.contains("system-part1") == true && $0.message.contains("6.1.1") }, "\(old)")
        // A protected bootloader 3000 (6.0.x-6.1.0) below 3001.
        var files = try release(protected: true).filter { !$0.name.contains("bootloader") }
        files.append(("bootloader-3000.bin", try ModuleFactory.bootloader(boron, version: 3000, protected: true).bytes))
        let low = problems(files, protected: true)
        #expect(low.contains { $0.code == "MANIFEST-PROTECTION" && $0.file == "bootloader-3000.bin" && $0.message.contains("3001") }, "\(low)")
    }

    @Test func theBootloaderVariantMustFitTheProduct() throws {
        let openOnProtected = problems(try release(protected: false), protected: true)
        #expect(openOnProtected.map(\.code) == ["MANIFEST-PROTECTION"] && openOnProtected[0].message.contains("protected variant"), "\(openOnProtected)")
        let protectedOnOpen = problems(try release(protected: true), protected: false)
        #expect(protectedOnOpen.map(\.code) == ["MANIFEST-PROTECTION"] && protectedOnOpen[0].message.contains("device_protection = true"), "\(protectedOnOpen)")
        #expect(FailureTable.entry(for: "MANIFEST-PROTECTION")?.next == .callTheLineLead)
    }

    /// The real protected bootloaders (binary-version-reader's specs) carry SECURITY_MODE
    /// mode 1, as EXPECTED.json's reference says; the open ones carry none. They are 5.x
    /// bootloaders (2400): a protected Tracker product refuses it (below 3001), and the real
    /// 4.1.0 system part (below 6101); an open product refuses it for being protected.
    @Test func realProtectedBootloadersAreRecognisedAndHeldToTheMinimums() throws {
        for entry in try SharedFixtures.expectedEntries() {
            guard let name = entry["file"] as? String, name.contains("bootloader"), entry["kind"] as? String == "real", entry["parseError"] == nil else { continue }
            let module = try FirmwareModule(bytes: SharedFixtures.moduleBytes(name))
            let security = (entry["reference"] as? [String: Any])?["security"] as? [String: Any]
            #expect(module.securityMode.map(Int.init) == security?["mode"] as? Int, "\(name)")
        }
        let bootloader = ("tracker-bootloader-protected.bin", try SharedFixtures.moduleBytes("tracker-bootloader-protected.bin"))
        let system = ("tracker-system-part1@4.1.0.bin", try SharedFixtures.moduleBytes("tracker-system-part1@4.1.0.bin"))
        let protected = problems([bootloader, system], protected: true, platform: "tracker", os: "4.1.0").filter { $0.code == "MANIFEST-PROTECTION" }
        #expect(Set(protected.compactMap(\.file)) == [bootloader.0, system.0], "\(protected)")
        let open = problems([bootloader, system], protected: false, platform: "tracker", os: "4.1.0").filter { $0.code == "MANIFEST-PROTECTION" }
        #expect(open.map(\.file) == [bootloader.0], "\(open)")
    }
}
