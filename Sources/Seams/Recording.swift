import TextFormats

/// A readable recording of control transfers: each request's fields and the response bytes
/// in hex, in order. What `--record FILE` writes and what `ReplayTransport` plays back.
public struct ControlRecording: Codable, Hashable, Sendable {
    public struct Transfer: Codable, Hashable, Sendable {
        public var bmRequestType: String
        public var bRequest: UInt8
        public var wValue: UInt16
        public var wIndex: UInt16
        public var wLength: UInt16
        /// OUT data stage, hex (absent for IN transfers).
        public var out: String?
        /// IN data stage, hex (absent for OUT transfers and failures).
        public var response: String?
        /// The `USBTransferError` code when the transfer failed (`USB-STALL`, ...).
        public var error: String?

        public init(setup: ControlSetup, data: [UInt8], result: Result<[UInt8], USBTransferError>) {
            bmRequestType = "0x" + Hex.encode([setup.requestType])
            bRequest = setup.request
            wValue = setup.value
            wIndex = setup.index
            wLength = setup.length
            out = setup.isIn ? nil : Hex.encode(data)
            switch result {
            case .success(let bytes): response = setup.isIn ? Hex.encode(bytes) : nil
            case .failure(let failure): error = failure.code
            }
        }

        public var setup: ControlSetup? {
            guard let type = Hex.decode(String(bmRequestType.dropFirst(2))), type.count == 1 else { return nil }
            return ControlSetup(requestType: type[0], request: bRequest, value: wValue, index: wIndex, length: wLength)
        }

        public var summary: String {
            "\(bmRequestType) bRequest \(bRequest) wValue \(wValue) wIndex \(wIndex) wLength \(wLength)" + (out.map { $0.isEmpty ? "" : " out \($0.prefix(32))" } ?? "")
        }
    }

    public var device: String
    public var transfers: [Transfer]

    public init(device: String, transfers: [Transfer] = []) {
        self.device = device
        self.transfers = transfers
    }
}

/// Records every transfer that passes through it, then hands the recording out.
public actor RecordingTransport: USBControlTransport {
    public nonisolated let deviceName: String
    let inner: any USBControlTransport
    var transfers: [ControlRecording.Transfer] = []

    public init(_ inner: any USBControlTransport) {
        self.inner = inner
        deviceName = inner.deviceName
    }

    public func control(_ setup: ControlSetup, data: [UInt8], timeout: Duration) async throws(USBTransferError) -> [UInt8] {
        do {
            let reply = try await inner.control(setup, data: data, timeout: timeout)
            transfers.append(.init(setup: setup, data: data, result: .success(reply)))
            return reply
        } catch {
            transfers.append(.init(setup: setup, data: data, result: .failure(error)))
            throw error
        }
    }

    public var recording: ControlRecording { ControlRecording(device: deviceName, transfers: transfers) }
}

/// Plays a recording back in strict order: each request must equal the recorded one
/// (setup fields and OUT data), or the transfer fails with "expected X, got Y".
public actor ReplayTransport: USBControlTransport {
    public nonisolated let deviceName: String
    let transfers: [ControlRecording.Transfer]
    var next = 0

    public init(_ recording: ControlRecording) {
        deviceName = recording.device + " (replay)"
        transfers = recording.transfers
    }

    /// Whether every recorded transfer was played.
    public var finished: Bool { next == transfers.count }

    public func control(_ setup: ControlSetup, data: [UInt8], timeout: Duration) async throws(USBTransferError) -> [UInt8] {
        let got = ControlRecording.Transfer(setup: setup, data: data, result: .success([]))
        guard next < transfers.count else {
            throw .replayMismatch("expected the end of the recording (\(transfers.count) transfers), got \(got.summary)")
        }
        let expected = transfers[next]
        guard expected.setup == setup, setup.isIn || expected.out == Hex.encode(data) else {
            throw .replayMismatch("transfer \(next + 1): expected \(expected.summary), got \(got.summary)")
        }
        next += 1
        if let code = expected.error {
            throw USBTransferError(code: code) ?? .io(call: "replay", code: -1)
        }
        return Hex.decode(expected.response ?? "") ?? []
    }
}

extension USBTransferError {
    /// The error a recorded code stands for.
    init?(code: String) {
        switch code {
        case "USB-STALL": self = .stall
        case "USB-TIMEOUT": self = .timeout
        case "USB-NO-DEVICE": self = .noDevice
        case "USB-OVERFLOW": self = .overflow
        default: return nil
        }
    }
}
