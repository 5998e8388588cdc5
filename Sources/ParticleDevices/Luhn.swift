/// The Luhn (mod 10) check digit used by ICCIDs (ITU-T E.118) and IMEIs.
public enum Luhn {
    /// The check digit that completes `payload` (the digits without the check digit).
    static func checkDigit<S: Sequence<UInt8>>(for payload: S) -> Int where S: BidirectionalCollection {
        var sum = 0
        // Walking right to left, the digit next to the check digit is doubled first.
        for (offset, digit) in payload.reversed().enumerated() {
            var value = Int(digit)
            if offset % 2 == 0 {
                value *= 2
                if value > 9 { value -= 9 }
            }
            sum += value
        }
        return (10 - sum % 10) % 10
    }

    /// `digits` (ASCII 0-9 only) with its Luhn check digit appended: for making test ICCIDs
    /// and IMEIs.
    public static func completing(_ digits: String) -> String {
        digits + String(checkDigit(for: Array(digits.utf8.map { $0 - 0x30 })))
    }
}

/// Shared validation for all-digit identifiers with a Luhn check digit.
enum DigitString {
    static func validate(
        _ text: String, kind: IdentifierError.Kind, lengths: ClosedRange<Int>
    ) throws(IdentifierError) -> String {
        guard !text.isEmpty else { throw .empty(kind) }
        var digits: [UInt8] = []
        for (index, character) in text.enumerated() {
            guard let ascii = character.asciiValue, (0x30...0x39).contains(ascii) else {
                throw .invalidCharacter(kind, character: character, position: index + 1)
            }
            digits.append(ascii - 0x30)
        }
        guard lengths.contains(digits.count) else {
            throw .wrongLength(kind, found: digits.count, expected: lengths)
        }
        let expected = Luhn.checkDigit(for: digits.dropLast())
        let found = Int(digits[digits.count - 1])
        guard found == expected else { throw .checkDigit(kind, found: found, expected: expected) }
        return text
    }
}
