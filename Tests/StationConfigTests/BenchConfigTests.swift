import Foundation
import StationConfig
import TestSupport
import Testing

/// The bench part of the station config: both examples load, defaults are the documented
/// ones, and each mistake names the key and the fix.
@Suite struct BenchConfigTests {
    static let head = """
        [station]
        id = "bench-1"
        [product]
        id = 12345
        platform = "boron"
        [cloud]
        credentials_file = "creds.toml"

        """

    func parse(_ text: String) throws -> BenchConfig {
        let station = try StationConfig.parse(text, file: "s.toml", extraSections: BenchConfig.sections)
        return try BenchConfig.parse(text, file: "s.toml", station: station)
    }

    func example(_ name: String) throws -> BenchConfig {
        let url = SharedFixtures.packageRoot.appendingPathComponent("stations/\(name)")
        let text = try String(contentsOf: url, encoding: .utf8)
        return try BenchConfig.parse(text, file: url.path, station: try StationConfig.parse(text, file: url.path, extraSections: BenchConfig.sections))
    }

    @Test func theExamplesLoad() throws {
        let boron = try example("boron-line.toml")
        #expect(boron.slots?.map(\.name) == ["A1", "A2", "A3", "A4"] && boron.slotName(port: "1-1.3") == "A3")
        #expect(boron.scanner == .evdev(vendorID: 0x0c2e, productID: 0x0b61))
        #expect(boron.pairing == .serialNumber && boron.scanRequired && boron.finalState == .listening && !boron.connectivityTest)
        #expect(boron.operatorSignIn && boron.operators == ["ana", "bo", "chen"])
        let tracker = try example("tracker-connectivity-line.toml")
        #expect(tracker.slots == nil && tracker.connectivityTest && tracker.finalStates["tracker"] == .dfu)
        #expect(tracker.scanner == .serial(path: nil, vendorID: 0x0c2e, productID: 0x0b6a, baud: 115_200))
    }

    @Test func defaults() throws {
        let config = try parse(Self.head + "[bench]\nmanifest = \"m.toml\"\n")
        #expect(config.slots == nil && config.scanner == .keyboardWedge && config.pairing == .serialNumber && config.scanRequired)
        #expect(config.finalState == .listening && config.finalStates == ["tracker": .dfu], "battery-powered trackers default to DFU")
        #expect(!config.operatorSignIn && config.operators.isEmpty && config.slotName(port: "1-2") == "1-2")
        #expect(!config.allowServiceMode, "Service Mode units go to rework unless the line says otherwise")
        #expect(try parse(Self.head + "[bench]\nmanifest = \"m.toml\"\nallow_service_mode = true\n").allowServiceMode)
    }

    @Test func severalProductsAndScanners() throws {
        let config = try parse(Self.head + """
            [bench]
            manifest = "boron.toml"
            [[bench.product]]
            platform = "tracker"
            id = 777
            manifest = "tracker.toml"
            [[scanner]]
            kind = "serial"
            device = "1209:0001"
            [[scanner]]
            kind = "evdev"
            device = "1209:0002"
            """)
        #expect(config.extraProducts == [.init(platform: "tracker", productID: 777, manifest: "tracker.toml")])
        #expect(config.scanners == [.serial(path: nil, vendorID: 0x1209, productID: 1, baud: 9600), .evdev(vendorID: 0x1209, productID: 2)])
        #expect(throws: ConfigFileError.self) {
            _ = try parse(Self.head + "[bench]\nmanifest = \"m\"\n[[bench.product]]\nplatform = \"boron\"\nid = 5\nmanifest = \"x\"\n")
        }
    }

    @Test(arguments: [
        ("", "bench", "missing"),
        ("[bench]\n", "bench.manifest", "missing"),
        ("[bench]\nmanifest = \"m\"\npairing = \"qr\"\n", "bench.pairing", "serial"),
        ("[bench]\nmanifest = \"m\"\nfinal_state = \"normal\"\n", "bench.final_state", "never leave the bench able to connect"),
        ("[bench]\nmanifest = \"m\"\nconnectivity_test = true\n", "bench.connectivity_test", "policy = \\\"always\\\""),
        ("[bench]\nmanifest = \"m\"\n[[bench.slot]]\nname = \"A\"\nport = \"usb3\"\n", "bench.slot[1].port", "port path"),
        ("[bench]\nmanifest = \"m\"\n[[bench.slot]]\nname = \"A\"\nport = \"1-1\"\n[[bench.slot]]\nname = \"B\"\nport = \"1-1\"\n", "bench.slot[2].port", "another slot"),
        ("[bench]\nmanifest = \"m\"\n[bench.final_state_by_platform]\nphoton = \"dfu\"\n", "bench.final_state_by_platform.photon", "unknown key"),
        ("[bench]\nmanifest = \"m\"\n[scanner]\nkind = \"evdev\"\n", "scanner.device", "VID:PID"),
        ("[bench]\nmanifest = \"m\"\n[scanner]\nkind = \"serial\"\ndevice = \"0c2e\"\n", "scanner.device", "not VID:PID"),
        ("[bench]\nmanifest = \"m\"\n[scanner]\nkind = \"none\"\n", "scanner.kind", "pairing needs a scanner"),
        ("[bench]\nmanifest = \"m\"\npairing = \"none\"\nscan_required = true\n", "bench.scan_required", "scans nothing"),
        ("[bench]\nmanifest = \"m\"\nallow_service_mode = \"yes\"\n", "bench.allow_service_mode", "true or false"),
    ] as [(String, String, String)])
    func mistakesNameTheKeyAndTheFix(text: String, key: String, words: String) {
        let expected = words.replacingOccurrences(of: "\\\"", with: "\"")
        #expect { _ = try parse(Self.head + text) } throws: { error in
            guard let error = error as? ConfigFileError else { return false }
            return error.key == key && error.problem.contains(expected)
        }
    }
}
