import Testing
import USBBench

/// The device ID in a USB serial string, as current and older Device OS write it.
@Suite struct USBSerialTests {
    @Test(arguments: [
        ("e00fce68ae40e8a1f5b40001", "e00fce68ae40e8a1f5b40001"),
        ("E00FCE68AE40E8A1F5B40001", "e00fce68ae40e8a1f5b40001"),
        ("Particle_Electron_3a1b2c3d4e5f6a7b8c9d0e1f", "3a1b2c3d4e5f6a7b8c9d0e1f"),
        ("00000000001A", nil),
        ("", nil),
        ("e00fce68ae40e8a1f5b400011", nil),  // 25 hex digits: not an ID
    ] as [(String, String?)])
    func deviceIDInASerialString(text: String, expected: String?) {
        #expect(USBSerial.deviceID(in: text) == expected)
    }
}
