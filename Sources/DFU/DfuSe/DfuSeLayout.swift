/// A DfuSe memory layout, from an alt setting's interface string:
/// `@<name>/<0xADDR>/<n>*<size><mult><attr>[,...][/<0xADDR>/...]`.
///
/// Count and size are decimal (leading zeros allowed); the multiplier is ` ` or `B` (1),
/// `K` (1024) or `M` (1048576); the attribute letter `a`...`g` is a bit set + 1: bit 0
/// readable, bit 1 erasable, bit 2 writable. Segments are contiguous from the address.
/// Sources: ST UM0424 / AN3156; dfu-util `src/dfuse_mem.c`; particle-usb `_parseMemoryDescriptor`.
public struct DfuSeLayout: Hashable, Sendable {
    /// What a page allows.
    public struct Attributes: OptionSet, Hashable, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let readable = Attributes(rawValue: 1)
        public static let erasable = Attributes(rawValue: 2)
        public static let writable = Attributes(rawValue: 4)
    }

    /// One erase unit.
    public struct Page: Hashable, Sendable {
        public let start: UInt32
        public let size: UInt32
        public let attributes: Attributes
        /// One past the last byte (64-bit so that a page ending at 4 GiB is representable).
        public var end: UInt64 { UInt64(start) + UInt64(size) }
    }

    /// The most pages a layout may list: 16 times the most any Particle bootloader does
    /// (8 MiB of external flash in 4 KiB pages is 2,048; the nRF52840 lists 256).
    public static let maximumPages = 32_768

    public let name: String
    /// Every page, in address order.
    public let pages: [Page]

    /// Parses a layout string.
    /// - Throws: `DfuSeLayoutError` naming the character position and what was expected.
    public init(_ text: String) throws(DfuSeLayoutError) {
        let chars = Array(text.utf8)
        var position = 0
        func fail(_ expected: String) -> DfuSeLayoutError { DfuSeLayoutError(text: text, position: position, expected: expected) }
        guard chars.first == UInt8(ascii: "@") else { throw fail("'@' at the start") }
        position = 1
        guard let slash = chars[1...].firstIndex(of: UInt8(ascii: "/")) else { throw fail("'/' after the name") }
        name = String(decoding: chars[1..<slash], as: UTF8.self).trimmingSpaces
        position = slash
        var pages: [Page] = []
        while position < chars.count {
            guard chars[position] == UInt8(ascii: "/") else { throw fail("'/' before an address") }
            position += 1
            guard position + 1 < chars.count, chars[position] == UInt8(ascii: "0"),
                chars[position + 1] == UInt8(ascii: "x") || chars[position + 1] == UInt8(ascii: "X")
            else { throw fail("a hexadecimal address such as 0x08000000") }
            position += 2
            var address: UInt64 = 0
            let addressStart = position
            while position < chars.count, let digit = Self.hexValue(chars[position]) {
                address = address * 16 + UInt64(digit)
                guard address <= UInt64(UInt32.max) else { throw fail("an address below 4 GiB") }
                position += 1
            }
            guard position > addressStart else { throw fail("hexadecimal digits") }
            guard position < chars.count, chars[position] == UInt8(ascii: "/") else { throw fail("'/' after the address") }
            position += 1
            while true {
                guard let count = Self.decimal(chars, &position) else { throw fail("a decimal page count below 2^32") }
                guard position < chars.count, chars[position] == UInt8(ascii: "*") else { throw fail("'*' after the page count") }
                position += 1
                guard let size = Self.decimal(chars, &position) else { throw fail("a decimal page size below 2^32") }
                var multiplier: UInt64 = 1
                if position < chars.count {
                    switch chars[position] {
                    case UInt8(ascii: "K"): multiplier = 1024; position += 1
                    case UInt8(ascii: "M"): multiplier = 1024 * 1024; position += 1
                    case UInt8(ascii: "B"), UInt8(ascii: " "): position += 1
                    default: break
                    }
                }
                guard position < chars.count, (UInt8(ascii: "a")...UInt8(ascii: "g")).contains(chars[position]) else {
                    throw fail("an attribute letter a to g")
                }
                let attributes = Attributes(rawValue: chars[position] - UInt8(ascii: "a") + 1)
                position += 1
                let pageSize = size * multiplier
                guard pageSize > 0, pageSize <= UInt64(UInt32.max), count > 0 else { throw fail("a non-zero page count and size") }
                // A device's count is not trusted: `4294967295*1` would be billions of pages.
                guard UInt64(pages.count) + count <= UInt64(Self.maximumPages) else {
                    throw fail("at most \(Self.maximumPages) pages in all (this one lists \(UInt64(pages.count) + count))")
                }
                for _ in 0..<count {
                    guard address + pageSize <= UInt64(UInt32.max) + 1 else { throw fail("pages that end at or below 4 GiB") }
                    pages.append(Page(start: UInt32(address), size: UInt32(pageSize), attributes: attributes))
                    address += pageSize
                }
                if position < chars.count, chars[position] == UInt8(ascii: ",") {
                    position += 1
                    continue
                }
                break
            }
        }
        guard !pages.isEmpty else { throw fail("at least one region") }
        let sorted = pages.sorted { $0.start < $1.start }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.end > UInt64(b.start) {
            throw DfuSeLayoutError(text: text, position: text.utf8.count, expected: "regions that do not overlap (0x\(String(b.start, radix: 16)) is covered twice)")
        }
        self.pages = sorted
    }

    /// The page holding `address`, if the layout covers it.
    public func page(containing address: UInt64) -> Page? {
        var low = 0, high = pages.count - 1
        while low <= high {
            let mid = (low + high) / 2
            let page = pages[mid]
            if address < UInt64(page.start) { high = mid - 1 } else if address >= page.end { low = mid + 1 } else { return page }
        }
        return nil
    }

    /// Pages that `[start, start + count)` touches, in order; nil if part of it is outside
    /// the layout.
    public func pages(overlapping start: UInt64, count: Int) -> [Page]? {
        guard count > 0 else { return [] }
        var result: [Page] = []
        var address = start
        let end = start + UInt64(count)
        while address < end {
            guard let page = page(containing: address) else { return nil }
            result.append(page)
            address = page.end
        }
        return result
    }

    /// Whether every page is protected (all `b`-style, no read or write): a protected device.
    public var isProtected: Bool { pages.allSatisfy { !$0.attributes.contains(.readable) && !$0.attributes.contains(.writable) } }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// A decimal number at `position` (advanced past it); nil when there is none or it is
    /// 2^32 or more.
    private static func decimal(_ chars: [UInt8], _ position: inout Int) -> UInt64? {
        var value: UInt64 = 0
        let start = position
        while position < chars.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(chars[position]) {
            value = value * 10 + UInt64(chars[position] - UInt8(ascii: "0"))
            guard value < 1 << 32 else { return nil }
            position += 1
        }
        return position > start ? value : nil
    }
}

/// A layout string that does not parse.
public struct DfuSeLayoutError: Error, Hashable, Sendable, CustomStringConvertible {
    public let text: String
    /// Byte position in `text` where parsing stopped.
    public let position: Int
    public let expected: String

    public var code: String { "DFU-LAYOUT" }
    public var description: String {
        "the DFU memory layout '\(text)' is malformed at position \(position): expected \(expected). The bootloader reported an unusual alt setting; check the device and its bootloader version."
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
