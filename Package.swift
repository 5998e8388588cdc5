// swift-tools-version: 6.1
import PackageDescription

/// The station's targets, bottom up (see `docs/architecture.md` in the shared docs and each
/// module's README): C libraries behind system-library targets, pure domain modules, adapters,
/// the application module, and a thin CLI.
let package = Package(
    name: "station",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "station", targets: ["station"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.0"),
        .package(url: "https://github.com/pointfreeco/swift-clocks", from: "1.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.25.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0", traits: ["FullFoundation"]),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
    ],
    targets: [
        // MARK: C libraries (Debian -dev packages), each imported by exactly one wrapper module.
        .systemLibrary(
            name: "CLibUSB", pkgConfig: "libusb-1.0",
            providers: [.apt(["libusb-1.0-0-dev"])]),
        .systemLibrary(
            name: "CUdev", pkgConfig: "libudev",
            providers: [.apt(["libudev-dev"])]),
        // Headers only (no pkg-config link flags): CShims loads libcurl with dlopen on first use.
        .systemLibrary(
            name: "CCurl",
            providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        /// What Swift cannot call: the variadic `libusb_set_option`, `curl_easy_setopt`,
        /// `curl_easy_getinfo`.
        .target(name: "CShims", dependencies: ["CLibUSB", "CCurl"], exclude: ["README.md"]),

        // MARK: Adapters over the C libraries.
        .target(name: "LibUSB", dependencies: ["CLibUSB", "CShims", "Seams", "TextFormats"], exclude: ["README.md"]),
        .target(name: "Udev", dependencies: ["CUdev"], exclude: ["README.md"]),
        /// A TCP listener on 127.0.0.1: the emulator's USB/IP server and the fake cloud share it.
        .target(name: "Loopback", exclude: ["README.md"]),
        .target(name: "Curl", dependencies: ["CCurl", "CShims", "Seams"], exclude: ["README.md"]),
        .target(name: "SerialPort", dependencies: ["CShims", "Seams"], exclude: ["README.md"]),
        .target(name: "Zlib", dependencies: ["CZlib", "FirmwareModules"], exclude: ["README.md"]),
        /// The station's SQLite store (GRDB over Debian's libsqlite3).
        .target(
            name: "StationStore",
            dependencies: ["ParticleDevices", .product(name: "GRDB", package: "GRDB.swift")],
            exclude: ["README.md"]),

        // MARK: Seams: the protocols the pure layer is written against.
        .target(name: "Seams", dependencies: ["TextFormats"], exclude: ["README.md"]),

        // MARK: Pure domain modules: no I/O, no C imports.
        /// TOML (a reader of our own), lines, CSV: the text formats every other module reads and writes.
        .target(name: "TextFormats", exclude: ["README.md"]),
        .target(name: "DFU", dependencies: ["Seams"], exclude: ["README.md"]),
        .target(name: "ParticleCloud", dependencies: ["Seams", "ParticleDevices"], exclude: ["README.md"]),
        .target(name: "ControlRequests", dependencies: ["Seams", "FirmwareModules", "TextFormats"], exclude: ["README.md"]),
        .target(name: "ListeningConsole", dependencies: ["Seams", "FirmwareModules", "TextFormats"], exclude: ["README.md"]),
        .target(
            name: "ParticleDevices",
            exclude: ["README.md"],
            resources: [
                .embedInCode("Resources/platforms.json"),
                .embedInCode("Resources/device-os-versions.json"),
                .embedInCode("Resources/device-os-capabilities.json"),
                .embedInCode("Resources/device-protection.json"),
            ]),
        .target(
            name: "FirmwareModules",
            dependencies: ["TextFormats", .product(name: "Crypto", package: "swift-crypto")],
            exclude: ["README.md"],
            resources: [.embedInCode("Resources/known-platforms.json")]),

        .target(
            name: "StationConfig",
            dependencies: ["ParticleDevices", "Seams", "TextFormats"],
            exclude: ["README.md"]),

        // MARK: Doubles: they ship in the binary, for `station demo`, the lab and tests.
        .target(
            name: "DeviceEmulator", dependencies: ["Seams", "DFU", "FirmwareModules", "ParticleDevices", "ControlRequests", "Loopback"],
            exclude: ["README.md"]),

        .target(
            name: "EmulatedBench",
            dependencies: [
                "Station", "DeviceEmulator", "DFU", "ControlRequests", "ListeningConsole", "FirmwareModules", "ParticleDevices", "Seams",
                .product(name: "Clocks", package: "swift-clocks"),
            ],
            exclude: ["README.md"]),
        .target(
            name: "StationAgent",
            dependencies: ["Station", "StationStore", "StationReports", "StationConfig", "ImportQueue", "ParticleDevices", "ParticleCloud", "Seams"],
            exclude: ["README.md"]),
        .target(
            name: "USBBench",
            dependencies: ["CShims", "Station", "LibUSB", "Udev", "SerialPort", "DFU", "ControlRequests", "ListeningConsole", "ParticleDevices", "Seams", "TextFormats"],
            exclude: ["README.md"]),
        .target(name: "StationReports", dependencies: ["StationStore", "TextFormats"], exclude: ["README.md"]),
        .target(
            name: "PostgresLine",
            dependencies: [
                "StationStore", "StationConfig", "StationReports",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"]),
        .target(name: "FakeParticleCloud", dependencies: ["Seams", "ParticleDevices", "Loopback"], exclude: ["README.md"]),
        .target(name: "ThrowawayPostgres", exclude: ["README.md"]),
        .target(
            name: "Dashboard",
            dependencies: [
                "StationReports", "StationStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"]),

        // MARK: Application and front end.
        .target(
            name: "ImportQueue",
            dependencies: ["ParticleCloud", "StationStore", "StationConfig", "ParticleDevices", "Seams"],
            exclude: ["README.md"]),
        .target(
            name: "Station", dependencies: ["ParticleDevices", "FirmwareModules", "DFU", "ControlRequests", "ListeningConsole", "StationConfig", "Seams", "TextFormats"],
            exclude: ["README.md"]),
        .target(
            name: "StationCLI",
            dependencies: [
                "USBBench",
                "StationAgent",
                "EmulatedBench",
                "StationReports", "PostgresLine", "ThrowawayPostgres", "Dashboard",
                "Station", "ParticleDevices", "FirmwareModules", "DFU", "DeviceEmulator",
                "LibUSB", "Udev", "Curl", "Zlib", "StationConfig", "TextFormats", "StationStore", "ParticleCloud", "FakeParticleCloud", "ImportQueue", "ControlRequests", "ListeningConsole", "SerialPort", "Seams",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            exclude: ["README.md"]),
        .executableTarget(
            name: "station",
            dependencies: ["StationCLI", "CShims", .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // MARK: Tests.
        .target(
            name: "TestSupport",
            dependencies: ["ThrowawayPostgres"],
            path: "Tests/TestSupport"),
        .testTarget(
            name: "ParticleDevicesTests",
            dependencies: [
                "ParticleDevices",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]),
        .testTarget(
            name: "FirmwareModulesTests",
            dependencies: [
                "FirmwareModules", "Zlib", "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]),
        .testTarget(
            name: "FlashTests",
            dependencies: [
                "DFU", "DeviceEmulator", "Station", "FirmwareModules", "ParticleDevices", "Seams", "TestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Clocks", package: "swift-clocks"),
            ]),
        .testTarget(name: "AdapterTests", dependencies: ["LibUSB", "Seams", "USBBench", "Station", "TextFormats"]),
        .testTarget(
            name: "PipelineTests",
            dependencies: [
                "Station", "EmulatedBench", "StationAgent", "StationReports", "ImportQueue", "FakeParticleCloud", "Curl", "ParticleCloud", "StationConfig", "StationStore", "DeviceEmulator", "FirmwareModules", "ParticleDevices", "Seams", "TestSupport",
                .product(name: "Clocks", package: "swift-clocks"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]),
        .testTarget(
            name: "IdentifyTests",
            dependencies: [
                "Station", "DeviceEmulator", "ControlRequests", "ListeningConsole", "DFU", "ParticleDevices", "FirmwareModules", "Seams",
                .product(name: "Clocks", package: "swift-clocks"),
            ]),
        .testTarget(
            name: "ImportQueueTests",
            dependencies: ["ImportQueue", "ParticleCloud", "StationStore", "StationConfig", "FakeParticleCloud", "Curl", "Seams", "ParticleDevices", "TestSupport"]),
        .testTarget(
            name: "ControlRequestsTests",
            dependencies: [
                "ControlRequests", "ListeningConsole", "Seams", "FirmwareModules", "DeviceEmulator", "ParticleDevices",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Clocks", package: "swift-clocks"),
            ]),
        .testTarget(
            name: "StationConfigTests",
            dependencies: ["StationConfig", "TextFormats", "ParticleDevices", "Seams", "TestSupport"],
            exclude: ["Oracle"]),
        .testTarget(
            name: "StationCLITests",
            dependencies: ["StationCLI", "Station", "TestSupport", "DeviceEmulator", "ParticleDevices", "FakeParticleCloud", "StationStore", "StationReports", "Dashboard"],
            exclude: ["cdp.py", "live-update.py", "page-layout.py"]),
        .testTarget(
            name: "LineTests",
            dependencies: [
                "PostgresLine", "StationStore", "StationConfig", "StationReports", "StationAgent", "Station", "EmulatedBench", "DeviceEmulator", "FirmwareModules",
                "ParticleDevices", "Curl", "TestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
