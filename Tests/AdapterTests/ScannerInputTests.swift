import Station
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

    /// A scanner that never sends a line end grew the buffer without bound (issue 14).
    @Test func aLineWithoutAnEndIsBounded() {
        var splitter = ScannerInput.LineSplitter()
        for _ in 0..<1_000 { #expect(splitter.feed([UInt8](repeating: 0x41, count: 1_000)).isEmpty) }
        let cut = splitter.feed([0x0D])
        #expect(cut.count == 1 && cut[0].utf8.count == ScannerInput.LineSplitter.maximumLine)
        #expect(splitter.feed(Array("P0ABCD\n".utf8)) == ["P0ABCD"], "the next line is whole")
    }

    @Test func anUnfinishedLineWaitsForItsEnd() {
        var splitter = ScannerInput.LineSplitter()
        #expect(splitter.feed(Array("P0AB".utf8)).isEmpty)
        #expect(splitter.feed(Array("CD\r".utf8)) == ["P0ABCD"])
    }
}

/// Key events from an evdev keyboard scanner become the scanned text.
@Suite struct KeyDecoderTests {
    @Test func shiftedLettersDigitsAndEnter() {
        var decoder = ScannerInput.KeyDecoder()
        var lines: [String] = []
        // "P0a-9" then Enter: shift down, p down/up, shift up, 0, a, -, 9, a repeat, Enter.
        let events: [(UInt16, UInt16, Int32)] = [
            (1, 42, 1), (1, 25, 1), (1, 25, 0), (1, 42, 0), (0, 0, 0), (1, 11, 1), (1, 11, 0), (1, 30, 1), (1, 30, 0),
            (1, 12, 1), (1, 12, 0), (1, 10, 1), (1, 10, 2), (1, 10, 0), (4, 4, 458_792), (1, 28, 1), (1, 28, 0), (1, 28, 1),
        ]
        for (type, code, value) in events {
            if let line = decoder.feed(type: type, code: code, value: value) { lines.append(line) }
        }
        #expect(lines == ["P0a-9"], "repeats and releases type nothing; an empty line is not a scan")
    }

    /// Seen in CI on a loaded machine: the kernel dropped key events (SYN_DROPPED) and the
    /// scan arrived as "P0LUGLAP" for "P0LUE40GGFVGLAP". A line with lost keys is marked, and
    /// the bench refuses it with "scan it again", never a shorter code.
    @Test func droppedEventsMarkTheLineAsLost() {
        var decoder = ScannerInput.KeyDecoder()
        let p: [(UInt16, UInt16, Int32)] = [(1, 42, 1), (1, 25, 1), (1, 25, 0), (1, 42, 0), (1, 11, 1), (1, 11, 0)]
        var lines: [String] = []
        for (type, code, value) in p + [(0, 3, 0)] + [(1, 2, 1), (1, 2, 0), (1, 28, 1)] {
            if let line = decoder.feed(type: type, code: code, value: value) { lines.append(line) }
        }
        #expect(lines == [BenchInput.lostKeys + "P01"])
        guard case .refused(let reason) = BenchInput.parse(lines[0]) else { Issue.record("accepted"); return }
        #expect(reason.contains("scan the sticker again"))
        // The next scan is whole again.
        for (type, code, value) in p + [(1, 28, 1)] {
            if let line = decoder.feed(type: type, code: code, value: value) { lines.append(line) }
        }
        #expect(lines.last == "P0")
    }
}
