import ParticleDevices
import Station
import Testing

/// Every line the bench receives is a command, a sticker, or refused with a reason.
@Suite struct BenchInputTests {
    @Test(arguments: [
        ("q", BenchInput.quit), ("quit\r\n", .quit), ("Q", .quit), ("help", .help), ("?", .help),
        ("r A1", .retry(slot: "A1")), ("retry 1-1.3", .retry(slot: "1-1.3")), ("d B2", .details(slot: "B2")),
    ])
    func commands(line: String, expected: BenchInput) {
        #expect(BenchInput.parse(line) == expected)
    }

    @Test(arguments: ["r", "r A1 A2", "d", "q now"])
    func commandsWithTheWrongArgumentsSayHow(line: String) {
        guard case .refused(let message) = BenchInput.parse(line) else {
            Issue.record("\(line) is refused")
            return
        }
        #expect(message.contains("e.g.") || message.contains("type q"), "\(message)")
    }

    @Test func aLineThatIsNeitherIsRefusedWithTheReason() {
        guard case .refused(let message) = BenchInput.parse("hello world") else { Issue.record("refused"); return }
        #expect(message.hasPrefix("'hello ...' is neither a sticker nor a command"))
        #expect(message.contains("Type help"))
        // A mistyped Gen 3 sticker's second field may be the mobile secret: never echoed.
        guard case .refused(let typo) = BenchInput.parse("P0AAAAAAAAAAAA WBPYG6CPLRCFK4S") else { Issue.record("refused"); return }
        #expect(!typo.contains("WBPYG6") && typo.contains("14 characters"), "\(typo)")
        // Terminal escapes from a misbehaving scanner are not echoed either.
        guard case .refused(let escape) = BenchInput.parse("\u{1B}[2Jxyz") else { Issue.record("refused"); return }
        #expect(!escape.contains("\u{1B}"))
    }

    @Test func aTerminalWithoutAWedgeScannerTakesOnlyCommands() {
        guard case .refused(let message) = BenchInput.parse("P0AAAAAAAAAAAAA", stickers: false) else { Issue.record("refused"); return }
        #expect(message.contains("is not a command"))
    }

    @Test func aScannerOfItsOwnCarriesNoKeys() {
        guard case .refused(let message) = BenchInput.parse("q", commands: false) else { Issue.record("refused"); return }
        #expect(message.contains("neither a sticker nor a command"))
    }

    @Test func theScannersPrefixAndSuffixAreRemoved() {
        #expect(BenchInput.parse("SN:P0AAAAAAAAAAAAA WBPYG6CPLRCFK4S#\r\n", prefix: "SN:", suffix: "#")
            == .sticker(.serial(try! SerialNumber("P0AAAAAAAAAAAAA"), mobileSecret: try! MobileSecret("WBPYG6CPLRCFK4S"))))
        #expect(BenchInput.parse("]Q1SN:490154203237518#", preferred: .imei, prefix: "SN:", suffix: "#") == .sticker(.imei(try! IMEI("490154203237518"))))
        #expect(BenchInput.parse("SN:]d2P0AAAAAAAAAAAAA WBPYG6CPLRCFK4S", prefix: "SN:") == .sticker(.serial(try! SerialNumber("P0AAAAAAAAAAAAA"), mobileSecret: try! MobileSecret("WBPYG6CPLRCFK4S"))),
                "the AIM identifier after the scanner's prefix")
    }

    /// A line longer than any sticker (a scanner without a line end, a pasted file) is
    /// refused with the reason, never parsed.
    @Test func aLineLongerThanAnyStickerIsRefused() {
        let line = "P0AAAAAAAAAAAAA " + String(repeating: "x", count: 600)
        guard case .refused(let reason) = BenchInput.parse(line) else { Issue.record("accepted"); return }
        #expect(reason.contains("longer than any sticker") && reason.contains("\(line.utf8.count) bytes"))
    }
}
