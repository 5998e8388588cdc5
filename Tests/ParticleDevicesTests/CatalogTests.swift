import Foundation
import ParticleDevices
import Testing

/// The catalog against the tables in `particle-usb-protocol.md` section 1 and
/// `particle-cloud-and-factory.md` section 2.
@Suite struct CatalogTests {
    let catalog = PlatformCatalog.bundled

    struct Row: Sendable, CustomStringConvertible {
        let id: UInt16, name: String, generation: Int, mcu: MCU, normal: UInt16, dfu: UInt16
        let normalProduct: String, dfuProduct: String, externalFlashPages: Int?
        var description: String { name }
    }

    static let provisioned: [Row] = [
        Row(id: 10, name: "electron", generation: 2, mcu: .stm32f205, normal: 0xC00A, dfu: 0xD00A, normalProduct: "Electron", dfuProduct: "Electron DFU Mode", externalFlashPages: nil),
        Row(id: 13, name: "boron", generation: 3, mcu: .nrf52840, normal: 0xC00D, dfu: 0xD00D, normalProduct: "Boron CDC Mode", dfuProduct: "Boron DFU Mode", externalFlashPages: 1024),
        Row(id: 15, name: "esomx", generation: 3, mcu: .nrf52840, normal: 0xC00F, dfu: 0xD00F, normalProduct: "E-SoM-X CDC Mode", dfuProduct: "E-SoM-X DFU Mode", externalFlashPages: 2048),
        Row(id: 23, name: "bsom", generation: 3, mcu: .nrf52840, normal: 0xC017, dfu: 0xD017, normalProduct: "B-SoM CDC Mode", dfuProduct: "B-SoM DFU Mode", externalFlashPages: 1024),
        Row(id: 25, name: "b5som", generation: 3, mcu: .nrf52840, normal: 0xC019, dfu: 0xD019, normalProduct: "B5-SoM CDC Mode", dfuProduct: "B5-SoM DFU Mode", externalFlashPages: 2048),
        Row(id: 26, name: "tracker", generation: 3, mcu: .nrf52840, normal: 0xC01A, dfu: 0xD01A, normalProduct: "Tracker CDC Mode", dfuProduct: "Tracker DFU Mode", externalFlashPages: 2048),
    ]

    @Test(arguments: provisioned) func provisionedPlatformsHaveEveryField(row: Row) throws {
        let platform = try #require(catalog.platform(id: PlatformID(row.id)))
        #expect(platform.name == row.name)
        #expect(platform.isProvisionable)
        #expect(platform.generation == row.generation)
        #expect(platform.mcu == row.mcu)
        let usb = try #require(platform.usb)
        #expect(usb.normalProductID == row.normal && usb.dfuProductID == row.dfu)
        #expect(usb.normalProductString == row.normalProduct && usb.dfuProductString == row.dfuProduct)
        #expect(catalog.platform(usbProductID: row.normal)?.mode == .normal)
        #expect(catalog.platform(usbProductID: row.dfu)?.platform.id == platform.id)
        let alts = try #require(platform.dfuAltSettings)
        #expect(alts[0].layout.hasPrefix("@Internal Flash   /"))
        if let pages = row.externalFlashPages {
            #expect(alts.count == 3)
            #expect(alts[2].layout == "@External Flash   /0x80000000/\(pages)*004Kg")
            #expect(alts[0].layout == "@Internal Flash   /0x00000000/1*004Ka,47*004Kg,192*004Kg,4*004Kg,4*004Kg,8*004Ka")
        } else {
            #expect(alts.map(\.layout) == ["@Internal Flash   /0x08000000/03*016Ka,01*016Kg,01*064Kg,07*128Kg", "@DCT Flash   /0x00000000/01*016Kg"])
        }
        let slots = try #require(platform.moduleSlots)
        #expect(!(platform.skus ?? []).isEmpty)
        if row.generation == 3 {
            #expect(slots.bootloader.start == 0xF4000 && slots.bootloader.path == .controlRequest)
            #expect(slots.radioStack?.start == 0x1000)
            let user256 = try #require(slots.userParts.first { $0.index == 2 })
            let user128 = try #require(slots.userParts.first { $0.index == 1 })
            #expect(user256.start == 0xB4000 && user256.size == 256 * 1024 && user256.legacy == false)
            #expect(user128.start == 0xD4000 && user128.size == 128 * 1024 && user128.legacy == true)
            #expect(user256.end == slots.bootloader.start)
        } else {
            #expect(slots.systemParts.map(\.start) == [0x0802_0000, 0x0804_0000, 0x0806_0000])
            #expect(slots.userParts.map(\.start) == [0x0808_0000])
            #expect(slots.radioStack == nil)
        }
    }

    @Test func pidRuleHoldsWhereverUSBIsKnown() {
        for platform in catalog.platforms {
            guard let usb = platform.usb else { continue }
            #expect(usb.normalProductID == 0xC000 + platform.id.rawValue, "\(platform.name)")
            #expect(usb.dfuProductID == 0xD000 + platform.id.rawValue, "\(platform.name)")
        }
        #expect(catalog.vendorID == 0x2B04)
    }

    @Test(arguments: [
        (UInt16(0), "core"), (6, "photon"), (8, "p1"), (12, "argon"), (14, "xenon"), (22, "asom"), (24, "xsom"),
        (28, "trackerm"), (32, "p2"), (35, "msom"), (88, "duo"), (103, "bluz"),
    ])
    func otherPlatformsArePresentByNameAndID(id: UInt16, name: String) throws {
        let platform = try #require(catalog.platform(id: PlatformID(id)))
        #expect(platform.name == name)
        #expect(catalog.platform(named: name.uppercased())?.id == PlatformID(id))
        #expect(!platform.isProvisionable)
    }

    /// Particle's "SIM activation speed" table.
    @Test(arguments: [
        ("B404X", "bsom", SIMActivationClass.fast), ("B404", "bsom", .fast), ("B524", "b5som", .fast),
        ("BRN404X", "boron", .fast), ("BRN404", "boron", .fast), ("BRN314", "boron", .fast),
        ("E404X", "esomx", .fast), ("E404", "electron", .fast), ("E314", "electron", .fast),
        ("T404", "tracker", .fast), ("ONE404", "tracker", .fast), ("T524", "tracker", .fast), ("ONE524", "tracker", .fast),
        ("E310", "electron", .generallyFast),
        ("B402", "bsom", .sometimesSlow), ("B523", "b5som", .sometimesSlow), ("BRN402", "boron", .sometimesSlow),
        ("BRN310", "boron", .sometimesSlow), ("E402", "electron", .sometimesSlow), ("T402", "tracker", .sometimesSlow),
        ("T523", "tracker", .sometimesSlow), ("ONE402", "tracker", .sometimesSlow), ("ONE523", "tracker", .sometimesSlow),
        ("E260", "electron", .externalSIM), ("E270", "electron", .externalSIM), ("E350", "electron", .externalSIM),
        ("ELC314", "electron", .externalSIM),
    ])
    func skuSIMActivationClasses(sku: String, platform: String, activation: SIMActivationClass) throws {
        let found = try #require(catalog.sku(named: sku.lowercased()))
        #expect(found.platform.name == platform)
        #expect(found.sku.simActivation == activation)
        #expect(found.sku.simActivationConfirmed)
    }

    @Test func familiesTheStationServesAreCovered() {
        let families = Set(catalog.platforms.flatMap { $0.skus ?? [] }.map(\.family))
        for family in ["B-Series SoM B4xx", "B-Series SoM B5xx", "E-Series", "E404X", "Tracker SoM", "Tracker One", "Monitor One", "Boron", "Electron"] {
            #expect(families.contains(family), "\(family)")
        }
        let battery = catalog.platforms.flatMap { $0.skus ?? [] }.filter(\.batteryPowered).map(\.family)
        #expect(Set(battery) == ["Tracker One", "Monitor One"])
    }

    @Test func unknownKeysAndDuplicatesAreRefused() {
        let typo = #"{"vendorID": 11012, "source": "t", "platforms": [{"id": 13, "name": "boron", "displayName": "Boron", "generaton": 3}]}"#
        #expect(throws: CatalogError.self) { try PlatformCatalog(json: Data(typo.utf8)) }
        let twice = #"{"vendorID": 11012, "source": "t", "platforms": [{"id": 13, "name": "a", "displayName": "A"}, {"id": 13, "name": "b", "displayName": "B"}]}"#
        #expect(throws: CatalogError.self) { try PlatformCatalog(json: Data(twice.utf8)) }
        let fine = #"{"vendorID": 11012, "source": "t", "platforms": [{"id": 13, "name": "a", "displayName": "A", "usb": null}]}"#
        #expect(throws: Never.self) { try PlatformCatalog(json: Data(fine.utf8)) }
    }

    /// `particle-module-format.md` section 9: never derive a release arithmetically.
    @Test(arguments: [
        (UInt16(4006), VersionedModuleKind.systemPart, "4.0.2" as String?), (4100, .systemPart, "4.1.0"), (5901, .systemPart, "5.9.0"),
        (6101, .systemPart, "6.1.1"), (3201, .systemPart, "3.2.0"), (3302, .systemPart, "3.3.1"), (3202, .systemPart, nil),
        (1006, .bootloader, "2.3.1"), (3001, .bootloader, "6.1.1"), (202, .radioStack, "S140 7.0.1"), (5, .ncp, "0.0.5"),
        (312, .systemPart, "0.8.0-rc"), (9, .systemPart, "0.4.x"), (5901, .bootloader, nil),
    ])
    func moduleVersionsMapToReleases(version: UInt16, kind: VersionedModuleKind, release: String?) {
        #expect(DeviceOSVersionTable.bundled.release(for: version, kind: kind) == release)
    }

    @Test func releaseToSystemModuleVersion() {
        #expect(DeviceOSVersionTable.bundled.systemModuleVersion(forRelease: "5.9.0") == 5901)
        #expect(DeviceOSVersionTable.bundled.systemModuleVersion(forRelease: "9.9.9") == nil)
    }
}
