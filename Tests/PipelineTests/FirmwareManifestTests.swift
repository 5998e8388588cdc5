import DeviceEmulator
import FirmwareModules
import Foundation
import ParticleDevices
import Station
import StationConfig
import Testing

/// Manifests: made from module files, pinned by SHA-256, refused when a file is missing,
/// altered, for another platform, or the image they make is inconsistent.
@Suite struct FirmwareManifestTests {
    let boron = PlatformCatalog.bundled.platform(named: "boron")!

    func files(_ platform: String = "boron", os: String = "6.2.0", product: (UInt16, UInt16) = (4242, 3)) throws -> [(name: String, bytes: [UInt8])] {
        try DemoFirmware.release(PlatformCatalog.bundled.platform(named: platform)!, deviceOS: os, product: product).map { ($0.name, Array($0.module.bytes)) }
    }

    func contents(_ files: [(name: String, bytes: [UInt8])]) -> [String: [UInt8]?] {
        Dictionary(uniqueKeysWithValues: files.map { ($0.name, Optional($0.bytes)) })
    }

    @Test(arguments: ["boron", "bsom", "b5som", "esomx", "tracker", "electron"])
    func createThenCheckRoundTripsThroughTOML(platform: String) throws {
        let files = try files(platform)
        let made = try FirmwareManifest.create(name: "line-a", files: files)
        #expect(made.file.platform == platform && made.file.deviceOS == "6.2.0" || platform == "electron")
        #expect(made.file.productID == 4242 && made.file.productVersion == 3)
        let parsed = try FirmwareManifestFile.parse(made.file.toml, file: "manifest.toml")
        #expect(parsed == made.file)
        let checked = try FirmwareManifest.check(parsed, contents: contents(files))
        #expect(checked.modules.count == files.count && checked.productFirmware.module.productID == 4242)
        #expect(parsed.modules.allSatisfy { $0.sha256.count == 64 })
    }

    @Test func aMissingFileIsRefused() throws {
        let files = try files()
        let manifest = try FirmwareManifest.create(name: "m", files: files).file
        var present = contents(files)
        present[files[1].name] = .some(nil)
        #expect { _ = try FirmwareManifest.check(manifest, contents: present) } throws: { ($0 as? ManifestError)?.code == "MANIFEST-FILE-MISSING" }
    }

    @Test func anAlteredFileIsRefusedEvenIfItIsAValidModule() throws {
        let files = try files()
        let manifest = try FirmwareManifest.create(name: "m", files: files).file
        var present = contents(files)
        // A different but valid product firmware under the same name.
        let other = try DemoFirmware.release(boron, deviceOS: "6.2.0", product: (4242, 4)).last!
        present[files.last!.name] = .some(Array(other.module.bytes))
        #expect { _ = try FirmwareManifest.check(manifest, contents: present) } throws: { error in
            let error = error as? ManifestError
            return error?.code == "MANIFEST-FILE-ALTERED" && error?.file == files.last!.name
        }
    }

    @Test func modulesForAnotherPlatformAreRefused() throws {
        var files = try files()
        files += try self.files("bsom").filter { $0.name.contains("product") }.map { ("x-" + $0.name, $0.bytes) }
        #expect { _ = try FirmwareManifest.create(name: "m", files: files) } throws: { ($0 as? ManifestError)?.code == "MANIFEST-WRONG-PLATFORM" }
    }

    @Test func anImageWithAnUnmetDependencyIsInconsistent() throws {
        // The application needs 6.2.0's system part, the manifest carries 5.9.0's.
        let system = try files(os: "5.9.0").filter { !$0.name.contains("product") }
        let application = try files(os: "6.2.0").filter { $0.name.contains("product") }
        #expect { _ = try FirmwareManifest.create(name: "m", files: system + application) } throws: { error in
            (error as? ManifestError)?.code == "MANIFEST-INCONSISTENT" && "\(error)".contains("would need")
        }
    }

    @Test func theProductMustMatchTheManifestAndTheStation() throws {
        let files = try files()
        var manifest = try FirmwareManifest.create(name: "m", files: files).file
        manifest.productVersion = 9
        #expect { _ = try FirmwareManifest.check(manifest, contents: contents(files)) } throws: { ($0 as? ManifestError)?.code == "MANIFEST-PRODUCT" }
        let good = try FirmwareManifest.create(name: "m", files: files)
        #expect(throws: Never.self) { try good.check(stationProductID: 4242, platforms: ["boron"]) }
        #expect { try good.check(stationProductID: 777, platforms: nil) } throws: { ($0 as? ManifestError)?.code == "MANIFEST-STATION-MISMATCH" }
        #expect { try good.check(stationProductID: 4242, platforms: ["tracker"]) } throws: { ($0 as? ManifestError)?.code == "MANIFEST-STATION-MISMATCH" }
    }

    @Test(arguments: [
        ("[manifest]\nname = \"a\"\nplatform = \"boron\"\ndevice_os = \"6.2.0\"\n[product]\nid = 1\nversion = 1\n", "module", "no modules"),
        ("[manifest]\nname = \"a\"\nplatform = \"boron\"\n[product]\nid = 1\nversion = 1\n[[module]]\nfile = \"a.bin\"\nsha256 = \"\(String(repeating: "a", count: 64))\"\n", "manifest.device_os", "missing"),
        ("[manifest]\nname = \"a\"\nplatform = \"boron\"\ndevice_os = \"6.2.0\"\n[product]\nid = 0\nversion = 1\n[[module]]\nfile = \"a.bin\"\nsha256 = \"\(String(repeating: "a", count: 64))\"\n", "product.id", "out of range"),
        ("[manifest]\nname = \"a\"\nplatform = \"boron\"\ndevice_os = \"6.2.0\"\n[product]\nid = 1\nversion = 1\n[[module]]\nfile = \"a.bin\"\nsha256 = \"abc\"\n", "module[1].sha256", "64 hex digits"),
        ("[manifest]\nname = \"a\"\nplatfrom = \"boron\"\n", "manifest.platfrom", "unknown key"),
    ] as [(String, String, String)])
    func mistakesInTheFileNameTheKey(text: String, key: String, words: String) {
        #expect { _ = try FirmwareManifestFile.parse(text, file: "m.toml") } throws: { error in
            guard let error = error as? ConfigFileError else { return false }
            return error.key == key && error.problem.contains(words)
        }
    }
}
