import Testing
import USBBench

/// Scanner bytes become scans: CR, LF or CR LF end one, however the bytes are chunked.
@Suite struct ScannerInputTests {
    @Test(arguments: [1, 2, 3, 5, 64])
    func linesSurviveAnyChunking(chunk: Int) {
        let bytes = Array("P0AAAAAAAAAAAA1\r\nP0BBBBBBBBBBBB2\r\r\n  P0CCCCCCCCCCCC3 \nq\n".utf8)
        var splitter = ScannerInput.LineSplitter()
        var lines: [String] = []
        for start in stride(from: 0, to: bytes.count, by: chunk) {
            lines += splitter.feed(Array(bytes[start..<min(bytes.count, start + chunk)]))
        }
        #expect(lines == ["P0AAAAAAAAAAAA1", "P0BBBBBBBBBBBB2", "P0CCCCCCCCCCCC3", "q"])
    }

    @Test func anUnfinishedLineWaitsForItsEnd() {
        var splitter = ScannerInput.LineSplitter()
        #expect(splitter.feed(Array("P0AB".utf8)).isEmpty)
        #expect(splitter.feed(Array("CD\r".utf8)) == ["P0ABCD"])
    }
}
