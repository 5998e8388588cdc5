import DFU
import DeviceEmulator
import ParticleDevices
import PropertyBased
import Seams
import Testing

@Suite struct LayoutParserTests {
    @Test func gen3InternalFlash() throws {
        let layout = try DfuSeLayout("@Internal Flash   /0x00000000/1*004Ka,47*004Kg,192*004Kg,4*004Kg,4*004Kg,8*004Ka")
        #expect(layout.name == "Internal Flash")
        #expect(layout.pages.count == 256)
        #expect(layout.page(containing: 0)?.attributes == [.readable])
        #expect(layout.page(containing: 0x1000)?.attributes == [.readable, .erasable, .writable])
        #expect(layout.page(containing: 0xF8000)?.attributes == [.readable])
        #expect(layout.page(containing: 0x100000) == nil)
        #expect(layout.pages.last?.end == 0x100000)
    }

    @Test func electronSectorsAndMultipliers() throws {
        let layout = try DfuSeLayout("@Internal Flash   /0x08000000/03*016Ka,01*016Kg,01*064Kg,07*128Kg")
        #expect(layout.pages.map(\.size) == [16384, 16384, 16384, 16384, 65536] + [UInt32](repeating: 131072, count: 7))
        #expect(layout.page(containing: 0x0802_0000)?.start == 0x0802_0000)
        #expect(layout.page(containing: 0x0808_1234)?.start == 0x0808_0000)
        #expect(try DfuSeLayout("@X/0x0/2*1Me").pages.map(\.size) == [1 << 20, 1 << 20])
        #expect(try DfuSeLayout("@X/0x0/4*512Bg").pages.count == 4)
        #expect(try DfuSeLayout("@X/0x0/4*512 g").pages.count == 4)
        #expect(try DfuSeLayout("@X/0x0/4*16g").pages.first?.size == 16)
    }

    @Test(arguments: Array("abcdefg"))
    func everyAttributeLetter(letter: Character) throws {
        let page = try #require(try DfuSeLayout("@M/0x1000/1*4K\(letter)").pages.first)
        let bits = letter.asciiValue! - Character("a").asciiValue! + 1
        #expect(page.attributes.rawValue == bits)
    }

    /// A device's page count is not trusted (issue 14): `4294967295*1` appended pages by the
    /// billion. Now the layout is refused at once, naming the bound.
    @Test(arguments: ["@x/0x0/4294967295*1 a", "@x/0x0/40000*1 a", "@x/0x0/20000*4Kg,20000*4Kg", "@x/0x0/4294967295*1 a,4294967295*1 a"])
    func aPageCountPastTheBoundIsRefused(layout: String) {
        #expect(throws: DfuSeLayoutError.self) { try DfuSeLayout(layout) }
        do { _ = try DfuSeLayout(layout) } catch {
            #expect(error.expected.contains("at most \(DfuSeLayout.maximumPages) pages"), "\(error)")
        }
    }

    @Test func severalRegionsAndProtection() throws {
        let layout = try DfuSeLayout("@Flash/0x08000000/2*016Kb/0x08100000/1*128Kg")
        #expect(layout.pages.count == 3)
        #expect(layout.page(containing: 0x0810_0000)?.attributes.contains(.writable) == true)
        #expect(!layout.isProtected)
        #expect(try DfuSeLayout("@Internal Flash   /0x00000000/1*004Kb,47*004Kb").isProtected)
        #expect(try DfuSeLayout("@DCT Flash   /0x00000000/1*016Ke").pages.first?.attributes == [.readable, .writable])
    }

    @Test(arguments: ["", "Internal", "@X", "@X/0x", "@X/0x100/", "@X/0x100/4", "@X/0x100/4*", "@X/0x100/4*4K", "@X/0x100/4*4Kz",
                      "@X/0x100/0*4Kg", "@X/0xFFFFFFFF/2*4Kg", "@X/0x0/1*4Kg/0x0/1*4Kg", "@X/100/1*4Kg"])
    func malformedLayoutsAreTypedErrors(text: String) {
        #expect(throws: DfuSeLayoutError.self) { try DfuSeLayout(text) }
    }

    @Test func parserNeverTraps() async {
        let alphabet: [Character] = Array("@/0x123456789abcdefgKMB*, XF")
        await propertyCheck(count: 3000, input: Gen.int(in: 0..<alphabet.count).array(of: 0...40), Gen.int(in: 0...3)) { picks, prefix in
            let seeds = ["", "@Internal Flash   /0x", "@X/0x08000000/", "@X/0x0/1*4Kg,"]
            let text = seeds[prefix] + String(picks.map { alphabet[$0] })
            do throws(DfuSeLayoutError) {
                let layout = try DfuSeLayout(text)
                #expect(!layout.pages.isEmpty)
                for (a, b) in zip(layout.pages, layout.pages.dropFirst()) { #expect(a.end <= UInt64(b.start)) }
            } catch {
                #expect(error.position >= 0 && error.position <= text.utf8.count)
            }
        }
    }
}

@Suite struct DFUWireTests {
    @Test func statusRoundTrip() {
        let status = DFUStatus(status: .errWrite, pollTimeout: .milliseconds(0x01_02_03), state: .error, stringIndex: 0)
        #expect(status.encoded == [0x03, 0x03, 0x02, 0x01, 10, 0])
        #expect(DFUStatus(bytes: status.encoded) == status)
        #expect(DFUStatus(bytes: [0, 0, 0]) == nil)
    }

    @Test func requestsAreClassInterfaceRequests() {
        #expect(DFURequest.download.setup(value: 2, length: 4096).requestType == 0x21)
        #expect(DFURequest.getStatus.setup(length: 6).requestType == 0xA1)
        #expect(DFURequest.upload.setup(value: 3, length: 4096) == ControlSetup(requestType: 0xA1, request: 2, value: 3, index: 0, length: 4096))
    }

    @Test func statusMessagesUseTheDfuSeReadings() {
        #expect(DFUStatusMessages.message(for: .errVendor).contains("protection"))
        #expect(DFUStatusMessages.message(for: .errVendor, dfuSe: false) == "vendor-specific error")
        #expect(DFUStatusMessages.name(of: .errStalledPacket) == "errSTALLEDPKT")
        for code in 0...15 { #expect(!DFUStatusMessages.message(for: DFUStatusCode(rawValue: UInt8(code))).isEmpty) }
    }
}

@Suite struct EmulatedDescriptorTests {
    func device(_ name: String, commands: [UInt8] = [0x00, 0x21, 0x41]) throws -> EmulatedDFUDevice<ContinuousClock> {
        try EmulatedDFUDevice(.init(platform: PlatformCatalog.bundled.platform(named: name)!, deviceID: "E00FCE68AE40E8A1F5B4C2D3", commands: commands, timing: .instant), clock: ContinuousClock())
    }

    func string(_ d: EmulatedDFUDevice<ContinuousClock>, _ index: UInt8) async throws -> String {
        let raw = try await d.control(ControlSetup(requestType: 0x80, request: 6, value: 0x0300 | UInt16(index), index: 0x0409, length: 255), data: [], timeout: .seconds(1))
        let units = stride(from: 2, to: raw.count, by: 2).map { UInt16(raw[$0]) | UInt16(raw[$0 + 1]) << 8 }
        return String(decoding: units, as: UTF16.self)
    }

    @Test(arguments: [("boron", UInt16(0xD00D), "Boron DFU Mode", 3), ("b5som", 0xD019, "B5-SoM DFU Mode", 3), ("electron", 0xD00A, "Electron DFU Mode", 2)])
    func descriptorsMatchTheBootloader(name: String, pid: UInt16, product: String, alts: Int) async throws {
        let d = try device(name)
        let descriptor = try await d.control(ControlSetup(requestType: 0x80, request: 6, value: 0x0100, index: 0, length: 18), data: [], timeout: .seconds(1))
        #expect(descriptor[8] == 0x04 && descriptor[9] == 0x2B)
        #expect(UInt16(descriptor[10]) | UInt16(descriptor[11]) << 8 == pid)
        #expect(try await string(d, 2) == product)
        #expect(try await string(d, 3) == "e00fce68ae40e8a1f5b4c2d3", "the serial is the lowercase device ID")
        #expect(try await string(d, 4).hasPrefix("@Internal Flash   /0x"))
        let config = await d.configurationDescriptor
        #expect(config.filter { $0 == 0x04 }.count >= alts)
        let functional = Array(config.suffix(9))
        #expect(functional == [9, 0x21, 0x0B, 255, 0, 0x00, 0x10, 0x1A, 0x01], "bmAttributes 0x0B, wTransferSize 4096, bcdDFUVersion 0x011A")
    }

    @Test func getCommandsAndParticleCommands() async throws {
        let layout = try DfuSeLayout(PlatformCatalog.bundled.platform(named: "boron")!.dfuAltSettings![0].layout)
        let old = try device("boron")
        let oldSession = DfuSeSession(transport: old, clock: ContinuousClock(), layout: layout)
        #expect(try await oldSession.supportedCommands() == [0x00, 0x21, 0x41])
        await #expect(throws: DFUError.self) { try await oldSession.particleCommand(.enterSafeMode) }
        let new = try device("boron", commands: [0x00, 0x21, 0x41, 0xFA, 0xFB])
        let newSession = DfuSeSession(transport: new, clock: ContinuousClock(), layout: layout)
        #expect(try await string(new, 0xFA) == "sm=o")
        try await newSession.particleCommand(.clearSecurityOverride)
        try await newSession.particleCommand(.enterSafeMode)
        #expect(await new.presence == .safeMode)
    }

    @Test func unsupportedRequestsStallIntoError() async throws {
        let d = try device("boron")
        await #expect(throws: USBTransferError.stall) {
            _ = try await d.control(DFURequest.upload.setup(value: 2, length: 16), data: [], timeout: .seconds(1))  // pointer 0 is fine, but...
            _ = try await d.control(DFURequest.download.setup(value: 2, length: 1), data: [1], timeout: .seconds(1))  // DNLOAD in dfuUPLOAD-IDLE
        }
        #expect(await d.dfuState == .error)
    }
}
