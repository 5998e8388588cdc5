import DeviceEmulator
import FirmwareModules
import ListeningConsole
import ParticleDevices
import Seams
import Testing

/// The listening-mode console: parsers from the documented formats, and the console of an
/// emulated device (silent outside listening mode).
@Suite struct ListeningConsoleTests {
    let boron = PlatformCatalog.bundled.platform(named: "boron")!

    @Test func identityInBothFormats() {
        let gen3 = "Device ID: E00FCE68AE40E8A1F5B4C2D3\r\nDevice Secret: WBPYG6CPLRCFK4S\r\nSerial Number: E40KAB111111111\r\nIMEI: 352753090123454\r\nICCID: 89014103271234567897\r\nCell Radio Version: L0.0.00.00.05.12\r\n"
        let parsed = ListeningConsole.parseIdentity(gen3)
        #expect(parsed?.deviceID == "e00fce68ae40e8a1f5b4c2d3" && parsed?.serialNumber == "E40KAB111111111" && parsed?.imei == "352753090123454")
        #expect(parsed?.iccid == "89014103271234567897" && parsed?.cellularFirmware == "L0.0.00.00.05.12" && parsed?.hadDeviceSecret == true)
        let old = "Your device id is e00fce68ae40e8a1f5b4c2d3\r\n"
        #expect(ListeningConsole.parseIdentity(old)?.deviceID == "e00fce68ae40e8a1f5b4c2d3")
        #expect(ListeningConsole.parseIdentity("Your core id is 0123456789abcdef01234567\r\n")?.deviceID == "0123456789abcdef01234567")
        #expect(ListeningConsole.parseIdentity("garbage\r\n") == nil)
        #expect(ListeningConsole.parseIdentity("Device ID: e00f\r\n") == nil, "not 24 hex characters")
    }

    @Test func macAddressWithNoiseAndPartialLines() {
        #expect(ListeningConsole.parseMACAddress("\u{0}Your device MAC address is\r\n0a:1B:2c:3D:4e:5F\r\n") == "0a:1b:2c:3d:4e:5f")
        #expect(ListeningConsole.parseMACAddress("Your device MAC address is\r\n0a:1b:2c") == nil)
    }

    @Test func versionAndSystemInfo() {
        #expect(ListeningConsole.parseVersion("system firmware version: 6.2.0\n\r\n") == "6.2.0")
        #expect(ListeningConsole.parseVersion("system firmware version: 5.0.0-rc.1\n") == "5.0.0-rc.1")
        let json = #"{"p":13,"imei":"352753090123454","m":[{"s":49152,"l":"m","vc":30,"vv":30,"f":"b","n":"0","v":1200,"d":[]},{"s":1572864,"l":"m","vc":30,"vv":26,"f":"s","n":"1","v":6200,"d":[{"f":"b","n":"0","v":1200},{"f":"a","n":"0","v":202}]}]}"# + "\r\n"
        guard let info = ListeningConsole.parseSystemInfo(json) else { Issue.record("not parsed"); return }
        #expect(info.platformID == 13 && info.modules.count == 2)
        #expect(info.modules[0].function == .bootloader && info.modules[0].version == 1200 && info.modules[0].isValid)
        #expect(info.modules[1].function == .systemPart && !info.modules[1].isValid)
        #expect(info.modules[1].dependencies == [ModuleDependency(function: .bootloader, index: 0, version: 1200), ModuleDependency(function: .radioStack, index: 0, version: 202)])
        #expect(ListeningConsole.parseSystemInfo("{\"m\": [{\"f\": \"?\"}]}") == nil, "an unknown function letter is not guessed")
    }

    @Test func theEmulatedConsoleAnswersOnlyInListeningMode() async throws {
        let profile = TestIdentities.profile()
        let modules = [EmulatedModule(function: .systemPart, index: 1, version: 6200, size: 600_000, dependencies: [ModuleDependency(function: .bootloader, index: 0, version: 3100)])]
        let device = EmulatedNormalDevice(platform: boron, profile: profile, listening: false, deviceOS: "6.2.0", modules: modules)
        var console = ListeningConsole(stream: EmulatedSerialStream(device), clock: ContinuousClock())
        console.answerTimeout = .milliseconds(300)
        console.quiet = .milliseconds(50)
        await #expect { _ = try await console.identify() } throws: { error in
            guard let error = error as? ConsoleError else { return false }
            return error.code == "CONSOLE-NO-ANSWER" && error.description.contains("listening mode") && error.description.contains("emulated tty")
        }
        await device.enterListening()
        let identity = try await console.identify()
        #expect(identity.deviceID == profile.deviceID.rawValue && identity.serialNumber == profile.serial?.rawValue)
        #expect(identity.imei == profile.imei?.rawValue && identity.iccid == profile.iccid?.rawValue && identity.hadDeviceSecret)
        #expect(try await console.version() == "6.2.0")
        let info = try await console.modules()
        #expect(info.platformID == 13 && info.modules.map(\.version) == [6200] && info.modules[0].dependencies == modules[0].dependencies)
    }
}

/// A port that answers each key with a fixed text at once and counts the reads.
actor ScriptedPort: ByteStream {
    nonisolated let name = "scripted"
    let answers: [UInt8: [UInt8]]
    var pending: [UInt8] = []
    private(set) var reads = 0
    init(_ answers: [Character: String]) {
        self.answers = Dictionary(uniqueKeysWithValues: answers.map { (Array(String($0.key).utf8)[0], Array($0.value.utf8)) })
    }
    func write(_ bytes: [UInt8]) async throws(ByteStreamError) { for byte in bytes { pending += answers[byte] ?? [] } }
    func read(timeout: Duration) async throws(ByteStreamError) -> [UInt8] {
        reads += 1
        defer { pending = [] }
        return pending
    }
}

@Suite struct ListeningConsoleCompletionTests {
    /// Answers end in CR LF, which Swift treats as one Character: the completion check must
    /// look at bytes, or every command waits for its whole timeout.
    @Test(arguments: [("i", "Device ID: e00fce68ae40e8a1f5b40001\r\nSerial Number: P0ABCDEFGHJKLMN\r\nICCID: 89014103211118510720\r\n"),
                      ("v", "system firmware version: 2.3.1\n\r\n"),
                      ("m", "Your device MAC address is\r\nE0:0F:CE:68:AE:40\r\n")])
    func anAnswerEndingInCRLFCompletesAtTheFirstQuietRead(key: String, answer: String) async throws {
        let port = ScriptedPort([Character(key): answer])
        var console = ListeningConsole(stream: port, clock: ContinuousClock())
        console.answerTimeout = .seconds(3600)
        switch key {
        case "i": _ = try await console.identify()
        case "m": #expect(try await console.macAddress() == "e0:0f:ce:68:ae:40")
        default: #expect(try await console.version() == "2.3.1")
        }
        #expect(await port.reads == 2)
    }
}

/// A device that never stops talking: every read returns bytes (after `pause`), until
/// `limit` reads, then silence.
actor ChatteringPort: ByteStream {
    nonisolated let name = "chattering"
    let piece: [UInt8]
    let pause: Duration
    let limit: Int
    private(set) var reads = 0
    init(piece: [UInt8], pause: Duration, limit: Int) { (self.piece, self.pause, self.limit) = (piece, pause, limit) }
    func write(_ bytes: [UInt8]) async throws(ByteStreamError) {}
    func read(timeout: Duration) async throws(ByteStreamError) -> [UInt8] {
        reads += 1
        guard reads <= limit else { return [] }
        try? await Task.sleep(for: pause)
        return piece
    }
}

@Suite struct HostileConsoleTests {
    /// Seen by reading (issue 14): the deadline only advanced while the device was quiet, so
    /// a device that chatters never ended a read. Now the answer ends at `answerTimeout`.
    @Test func aChatteringDeviceEndsTheReadAtTheDeadline() async throws {
        let port = ChatteringPort(piece: Array("Device ID: ".utf8), pause: .milliseconds(2), limit: 20_000)
        var console = ListeningConsole(stream: port, clock: ContinuousClock())
        console.answerTimeout = .milliseconds(300)
        console.quiet = .milliseconds(50)
        await #expect(throws: ConsoleError.self) { _ = try await console.identify() }
        #expect(await port.reads < 20_000, "the read ended before the device fell silent")
    }

    /// An answer past 64 KiB is an error, not a buffer without end.
    @Test func anEndlessAnswerIsCutOffWithItsCode() async throws {
        let port = ChatteringPort(piece: [UInt8](repeating: 0x41, count: 4096), pause: .zero, limit: 1_000)
        var console = ListeningConsole(stream: port, clock: ContinuousClock())
        console.answerTimeout = .seconds(3600)
        do {
            _ = try await console.identify()
            Issue.record("identified")
        } catch {
            #expect(error.code == "CONSOLE-TOO-LONG", "\(error)")
        }
        #expect(await port.reads < 100)
    }
}
