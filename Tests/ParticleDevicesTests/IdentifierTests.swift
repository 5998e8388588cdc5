import Foundation
import ParticleDevices
import PropertyBased
import Testing

@Suite struct IdentifierTests {
    @Test func deviceIDIsCaseInsensitiveAndNormalised() throws {
        let upper = try DeviceID("E00FCE68AE40E8A1F5B4C2D3")
        #expect(upper.rawValue == "e00fce68ae40e8a1f5b4c2d3")
        #expect(try DeviceID("e00fce68ae40e8a1f5b4c2d3") == upper)
        #expect(throws: IdentifierError.wrongLength(.deviceID, found: 23, expected: 24...24)) { try DeviceID("e00fce68ae40e8a1f5b4c2d") }
        #expect(throws: IdentifierError.invalidCharacter(.deviceID, character: "g", position: 24)) { try DeviceID("e00fce68ae40e8a1f5b4c2dg") }
        #expect(throws: IdentifierError.empty(.deviceID)) { try DeviceID("") }
    }

    @Test func iccidChecksLengthAndCheckDigit() throws {
        #expect(try ICCID("8934076500002589174").rawValue == "8934076500002589174")
        #expect(throws: IdentifierError.checkDigit(.iccid, found: 5, expected: 4)) { try ICCID("8934076500002589175") }
        #expect(throws: IdentifierError.wrongLength(.iccid, found: 17, expected: 18...22)) { try ICCID("89340765000025891") }
        #expect(throws: IdentifierError.wrongLength(.iccid, found: 23, expected: 18...22)) { try ICCID("89340765000025891740000") }
        #expect(throws: IdentifierError.invalidCharacter(.iccid, character: "F", position: 20)) { try ICCID("8934076500002589174F") }
        let message = (try? ICCID("8934076500002589175")).map { _ in "" } ?? IdentifierError.checkDigit(.iccid, found: 5, expected: 4).description
        #expect(message.contains("check digit is 5") && message.contains("require 4"))
        #expect(IdentifierError.wrongLength(.iccid, found: 17, expected: 18...22).description.contains("17 digits"))
    }

    @Test func imeiChecksLengthAndCheckDigit() throws {
        #expect(try IMEI("490154203237518").rawValue == "490154203237518")
        #expect(throws: IdentifierError.checkDigit(.imei, found: 9, expected: 8)) { try IMEI("490154203237519") }
        #expect(throws: IdentifierError.wrongLength(.imei, found: 14, expected: 15...15)) { try IMEI("49015420323751") }
    }

    /// Any digit string completed with its Luhn digit is accepted; any other last digit is
    /// refused naming the right one.
    @Test func luhnProperty() async {
        await propertyCheck(input: Gen.int(in: 0...9).array(of: 17...21), Gen.int(in: 1...9)) { payload, delta in
            let text = payload.map(String.init).joined()
            let check = (0...9).first { (try? ICCID(text + String($0))) != nil }
            guard let check else {
                Issue.record("no check digit completes \(text)")
                return
            }
            let wrong = (check + delta) % 10
            #expect(throws: IdentifierError.checkDigit(.iccid, found: wrong, expected: check)) { try ICCID(text + String(wrong)) }
        }
    }

    @Test(arguments: [
        ("E40KAB111111111 WBPYG6CPLRCFK4S", "E40KAB111111111", true),
        ("E40KAB111111111 WBPYG6CPLRCFK4S\r\n", "E40KAB111111111", true),
        ("\u{02}]d2E40KAB111111111 WBPYG6CPLRCFK4S\u{03}", "E40KAB111111111", true),
        ("  e40kab111111111\twbpyg6cplrcfk4s\t", "E40KAB111111111", true),
        ("E26AAA111111111\n", "E26AAA111111111", false),
    ])
    func stickerNoiseIsTolerated(text: String, serial: String, hasSecret: Bool) throws {
        let code = try StickerCode.parse(text)
        guard case .serial(let parsed, let secret) = code else {
            Issue.record("not a serial sticker")
            return
        }
        #expect(parsed.rawValue == serial)
        #expect((secret != nil) == hasSecret)
        #expect(!String(describing: secret as Any).contains("WBPYG6"), "the mobile secret never prints")
    }

    @Test func stickerPrefixAndSuffixAreStripped() throws {
        let code = try StickerCode.parse("SN:E40KAB111111111 WBPYG6CPLRCFK4S#", prefix: "SN:", suffix: "#")
        #expect(code.serialNumber?.rawValue == "E40KAB111111111")
    }

    @Test func stickerContentIsStrict() {
        #expect(throws: IdentifierError.wrongLength(.serialNumber, found: 14, expected: 15...15)) { try StickerCode.parse("E40KAB11111111 WBPYG6CPLRCFK4S") }
        #expect(throws: IdentifierError.invalidCharacter(.serialNumber, character: "-", position: 4)) { try StickerCode.parse("E40-AB111111111") }
        #expect(throws: IdentifierError.wrongLength(.mobileSecret, found: 5, expected: 15...15)) { try StickerCode.parse("E40KAB111111111 WBPYG") }
        #expect(throws: IdentifierError.self) { try StickerCode.parse("E40KAB111111111 WBPYG6CPLRCFK4S EXTRA") }
        #expect(throws: IdentifierError.empty(.sticker)) { try StickerCode.parse("\r\n") }
        #expect(throws: IdentifierError.invalidCharacter(.serialNumber, character: "\u{7}", position: 4)) { try StickerCode.parse("E40\u{7}AB11111111") }
    }

    /// One row per platform's sticker, from the docs' shapes (data-matrix-sticker page):
    /// Gen 3 (Boron, B-SoM, B5 SoM, E404X, Tracker) serial + space + mobile secret; Gen 2
    /// (Electron, E-Series) serial only; older u-blox Electron/E-Series the IMEI.
    @Test(arguments: [
        ("boron", "B40KAB111111111 WBPYG6CPLRCFK4S", StickerCode.Key.serialNumber, "B40KAB111111111", true),
        ("bsom", "]d2P04KAB11111111 WBPYG6CPLRCFK4S\r\n", .serialNumber, "P04KAB11111111", true),
        ("b5som", "P05KAB111111111 WBPYG6CPLRCFK4S\n", .serialNumber, "P05KAB111111111", true),
        ("esomx", "E40KAB111111111 WBPYG6CPLRCFK4S", .serialNumber, "E40KAB111111111", true),
        ("tracker", "T40KAB111111111\tWBPYG6CPLRCFK4S\r", .serialNumber, "T40KAB111111111", true),
        ("electron", "E26AAA111111111\r\n", .serialNumber, "E26AAA111111111", false),
        ("electron u-blox", "490154203237518\r\n", .imei, "490154203237518", false),
    ])
    func everyPlatformsStickerParses(platform: String, text: String, key: StickerCode.Key, value: String, hasSecret: Bool) {
        // (The B-SoM row's serial has 14 characters: it must be refused, not cut or padded.)
        if value.count != 15 {
            #expect(throws: IdentifierError.wrongLength(.serialNumber, found: 14, expected: 15...15)) { try StickerCode.parseAny(text) }
            return
        }
        let code = try? StickerCode.parseAny(text)
        #expect(code?.key == key && code?.pairingValue == value, "\(platform): \(String(describing: code))")
        #expect((code?.mobileSecret != nil) == hasSecret)
        #expect(!String(describing: code).contains("WBPYG6"), "the secret never prints")
    }

    @Test func aLineThatIsNoStickerIsRefused() {
        #expect(throws: IdentifierError.self) { try StickerCode.parseAny("help me") }
        #expect(throws: IdentifierError.self) { try StickerCode.parseAny("490154203237519") }
    }

    @Test func imeiStickers() throws {
        #expect(try StickerCode.parse("490154203237518\r", key: .imei) == .imei(try IMEI("490154203237518")))
        #expect(throws: IdentifierError.checkDigit(.imei, found: 9, expected: 8)) { try StickerCode.parse("490154203237519", key: .imei) }
    }

    @Test func errorsHaveStableCodes() {
        #expect(IdentifierError.empty(.iccid).code == "ID-EMPTY")
        #expect(IdentifierError.checkDigit(.imei, found: 1, expected: 2).code == "ID-CHECK-DIGIT")
        #expect(IdentifierError.stickerFormat("x").kind == .sticker)
    }

    @Test func identifiersEncodeNormalisedAndDecodeValidated() throws {
        let data = try JSONEncoder().encode([try DeviceID("E00FCE68AE40E8A1F5B4C2D3")])
        #expect(String(decoding: data, as: UTF8.self) == #"["e00fce68ae40e8a1f5b4c2d3"]"#)
        #expect(try JSONDecoder().decode([DeviceID].self, from: data).first?.rawValue == "e00fce68ae40e8a1f5b4c2d3")
        #expect(throws: IdentifierError.self) { try JSONDecoder().decode([ICCID].self, from: Data(#"["8934076500002589175"]"#.utf8)) }
    }
}
