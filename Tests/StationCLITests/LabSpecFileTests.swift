import DeviceEmulator
import Foundation
import ParticleDevices
@testable import StationCLI
import TestSupport
import Testing

/// The virtual bench's device spec: every documented key is read, the example in lab/specs
/// loads, and each mistake is an error naming the file, the key and the fix.
@Suite struct LabSpecFileTests {
    func write(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("spec-\(UUID().uuidString).toml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func theShippedExampleLoadsWithEveryKey() throws {
        let path = SharedFixtures.packageRoot.appendingPathComponent("lab/specs/mixed-modes.toml").path
        let devices = try LabSpecFile.load(path)
        #expect(devices.map(\.device.platform.name) == ["boron", "bsom", "electron"])
        let boron = devices[0].device
        #expect(boron.mode == .normal)
        #expect(boron.profile.deviceID.rawValue == "e00fce68aa11bb22cc33dd44")
        #expect(boron.profile.serial?.rawValue == "P046RJ123456789")
        #expect(boron.profile.iccid?.rawValue == "89014103271234567897")
        #expect(boron.profile.imei?.rawValue == "352753090123454")
        #expect(boron.profile.simActive && boron.profile.cloudConnectDelay == .seconds(30))
        #expect(boron.preload == [.deviceOS, .application])
        #expect(boron.attachAtStart)
        // Device OS 6.2.0 made by the module writer: bootloader, radio stack, system part, app.
        #expect(devices[0].modules.map(\.header.function) == [.bootloader, .radioStack, .systemPart, .userPart])
        #expect(devices[0].modules.first { $0.header.function == .systemPart }?.header.version == 6200)
        #expect(devices[1].modules.first { $0.header.function == .systemPart }?.header.version == 5901, "5.9.0 is module version 5901")
        let electron = devices[2].device
        #expect(electron.mode == .listening && electron.faults == [.unplugAfterChunk(4)])
        #expect(devices[2].modules.map(\.header.function) == [.bootloader])
        // Unnamed identities are random but valid, and differ between devices.
        #expect(electron.profile.deviceID.rawValue == "e00fce68ae40e8a1f5b40003")
        #expect(electron.profile.iccid != nil && electron.profile.imei != nil && electron.profile.iccid != devices[1].device.profile.iccid)
    }

    @Test func theProtectionSpecGivesEachUnitItsState() throws {
        let devices = try LabSpecFile.load(SharedFixtures.packageRoot.appendingPathComponent("lab/specs/device-protection.toml").path)
        #expect(devices.map(\.device.profile.protection) == [.protected, .service])
        #expect(devices.map(\.device.mode) == [.dfu, .normal])
        let flash = try LabSpecFile.load(SharedFixtures.packageRoot.appendingPathComponent("lab/specs/device-protection-flash.toml").path)
        #expect(flash.map(\.device.profile.protection) == [.protected, .protected, .service] && flash.map(\.device.deviceOS) == ["6.2.0", "6.1.1", "6.2.0"])
    }

    @Test func theWatchSpecLeavesPluggingInToTheScenario() throws {
        let devices = try LabSpecFile.load(SharedFixtures.packageRoot.appendingPathComponent("lab/specs/watch-guard.toml").path)
        #expect(devices.map(\.device.attachAtStart) == [false, false])
        #expect(devices.allSatisfy { $0.device.profile.simActive && $0.device.profile.cloudConnectDelay == .seconds(5) })
    }

    @Test(arguments: [
        ("[[device]]\nplatfrom = \"boron\"\n", "device[1].platfrom", "unknown key"),
        ("[[device]]\nmode = \"dfu\"\n", "device[1].platform", "missing"),
        ("[[device]]\nplatform = \"argon\"\n", "device[1].platform", "not a platform the station provisions"),
        ("[[device]]\nplatform = \"boron\"\nmode = \"sleepy\"\n", "device[1].mode", "dfu, normal or listening"),
        ("[[device]]\nplatform = \"boron\"\nprotection = \"locked\"\n", "device[1].protection", "open, protected or service"),
        ("[[device]]\nplatform = \"boron\"\niccid = \"89014103271234567890\"\n", "device[1].iccid", "check digit"),
        ("[[device]]\nplatform = \"boron\"\ndevice_os = \"9.9.9\"\n", "device[1].device_os", "not a Device OS release"),
        ("[[device]]\nplatform = \"boron\"\npreload = [\"nothing-here.bin\"]\n", "device[1].preload", "no module file"),
        ("[[device]]\nplatform = \"boron\"\nfaults = [\"melt@3\"]\n", "device[1].faults", "unknown"),
        ("[[device]]\nplatform = \"boron\"\ncloud_connect_delay = \"soon\"\n", "device[1].cloud_connect_delay", "number of seconds"),
        ("[[device]]\nplatform = \"boron\"\nsim_active = 1\n", "device[1].sim_active", "true or false"),
        ("[[device]]\nplatform = \"boron\"\nattach = \"later\"\n", "device[1].attach", "lab_attach"),
        ("[[device]\nplatform = \"boron\"\n", nil, "line 1"),
        ("", "device", "no devices"),
    ] as [(String, String?, String)])
    func mistakesNameTheKeyAndTheFix(text: String, key: String?, words: String) throws {
        let path = try write(text)
        do {
            _ = try LabSpecFile.load(path)
            Issue.record("accepted: \(text)")
        } catch {
            #expect(error.key == key)
            #expect(error.description.contains(path) && error.description.lowercased().contains(words.lowercased()), "\(error)")
        }
    }
}
