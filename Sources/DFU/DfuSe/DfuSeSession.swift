import Seams

/// Limits for DFU waits: named configuration, not literals.
public struct DFUTimeouts: Hashable, Sendable {
    /// Each control transfer. Long, because Gen 3 reports bwPollTimeout 0 and does its
    /// erase or write while the next GETSTATUS waits (particle-usb uses 5 s).
    public var transfer: Duration
    /// Total time a device may stay busy on one command before it is given up on.
    public var busy: Duration
    /// GETSTATUS polls on one command before it is given up on (zero-timeout devices).
    public var maximumPolls: Int

    public init(transfer: Duration = .seconds(5), busy: Duration = .seconds(30), maximumPolls: Int = 2000) {
        self.transfer = transfer
        self.busy = busy
        self.maximumPolls = maximumPolls
    }
}

/// How leaving DFU mode ended.
public enum DFULeaveOutcome: Hashable, Sendable {
    /// The device acknowledged (Gen 3: dfuMANIFEST...; Gen 2: dfuDNLOAD-IDLE) and will reset.
    case acknowledged(DFUState)
    /// The device reset before answering; that is success too.
    case disappeared
}

/// The DfuSe engine for one alt setting of one device (DFU 1.1 + ST AN3156, as Particle
/// bootloaders implement them). Every wait goes through the injected clock.
public struct DfuSeSession: Sendable {
    public let transport: any USBControlTransport
    public let clock: any Clock<Duration>
    public let alt: UInt8
    public let interface: UInt16
    /// wTransferSize from the functional descriptor (4096 on Particle devices).
    public let transferSize: Int
    public let layout: DfuSeLayout
    public let timeouts: DFUTimeouts
    /// String descriptor 0xFA as the device gave it (Device Protection), nil without one.
    public let protectionText: String?

    public init(
        transport: any USBControlTransport, clock: any Clock<Duration>, layout: DfuSeLayout, alt: UInt8 = 0,
        interface: UInt16 = 0, transferSize: Int = 4096, timeouts: DFUTimeouts = DFUTimeouts(), protectionText: String? = nil
    ) {
        self.protectionText = protectionText
        precondition(transferSize > 0 && transferSize <= 65535, "wTransferSize must be 1...65535")
        self.transport = transport
        self.clock = clock
        self.alt = alt
        self.interface = interface
        self.transferSize = transferSize
        self.layout = layout
        self.timeouts = timeouts
    }

    // MARK: Requests

    /// Builds an error with this session's context.
    public func error(_ operation: String, _ kind: DFUError.Kind, address: UInt32? = nil, block: UInt16? = nil, status: DFUStatus? = nil) -> DFUError {
        DFUError(operation: operation, kind: kind, device: transport.deviceName, alt: alt, address: address, block: block, status: status?.status, state: status?.state)
    }

    func transfer(_ request: DFURequest, value: UInt16 = 0, data: [UInt8] = [], length: Int = 0, operation: String, address: UInt32? = nil) async throws(DFUError) -> [UInt8] {
        let setup = request.setup(value: value, interface: interface, length: request == .download ? data.count : length)
        do {
            return try await transport.control(setup, data: data, timeout: timeouts.transfer)
        } catch {
            throw self.error(operation, .transfer(error), address: address, block: request == .download || request == .upload ? value : nil)
        }
    }

    /// GETSTATUS.
    public func status(operation: String = "get-status", address: UInt32? = nil) async throws(DFUError) -> DFUStatus {
        let reply = try await transfer(.getStatus, length: 6, operation: operation, address: address)
        guard let status = DFUStatus(bytes: reply) else { throw error(operation, .malformedStatus(length: reply.count), address: address) }
        return status
    }

    /// Brings the device to dfuIDLE: CLRSTATUS from dfuERROR, ABORT from the other idle states.
    public func ensureIdle(operation: String = "reset-state") async throws(DFUError) {
        var current = try await status(operation: operation)
        for _ in 0..<3 {
            switch current.state {
            case .idle:
                return
            case .error:
                _ = try await transfer(.clearStatus, operation: operation)
            case .downloadBusy, .downloadSync, .manifestSync:
                try await pause(current.pollTimeout, operation: operation)
            default:
                _ = try await transfer(.abort, operation: operation)
            }
            current = try await status(operation: operation)
        }
        guard current.state == .idle else { throw error(operation, .unexpectedState(expected: "dfuIDLE"), status: current) }
    }

    /// ABORT: back to dfuIDLE (used on cancellation and after uploads).
    public func abort() async throws(DFUError) {
        _ = try await transfer(.abort, operation: "abort")
    }

    func pause(_ duration: Duration, operation: String, address: UInt32? = nil) async throws(DFUError) {
        guard duration > .zero else { return }
        do {
            try await clock.sleep(for: duration, tolerance: nil)
        } catch {
            throw self.error(operation, .cancelled, address: address)
        }
    }

    /// Polls GETSTATUS, honouring bwPollTimeout, while the device is busy.
    /// - Returns: the first status that is not busy.
    func waitWhileBusy(operation: String, address: UInt32?, block: UInt16? = nil) async throws(DFUError) -> DFUStatus {
        var waited = Duration.zero
        for _ in 0..<timeouts.maximumPolls {
            let current = try await status(operation: operation, address: address)
            guard current.status == .ok else {
                // Leave the device recoverable: CLRSTATUS takes dfuERROR back to dfuIDLE.
                _ = try? await transfer(.clearStatus, operation: operation)
                throw error(operation, .status(current.status), address: address, block: block, status: current)
            }
            guard current.state == .downloadBusy || current.state == .downloadSync else { return current }
            waited += current.pollTimeout
            guard waited <= timeouts.busy else { throw error(operation, .busyTimeout, address: address, block: block, status: current) }
            try await pause(current.pollTimeout, operation: operation, address: address)
        }
        throw error(operation, .busyTimeout, address: address, block: block)
    }

    /// A DfuSe command: DNLOAD with wValue 0, then wait for it to finish.
    func command(_ command: DfuSeCommand, address: UInt32?, operation: String) async throws(DFUError) {
        var payload = [command.rawValue]
        if let address { payload += [UInt8(address & 0xFF), UInt8((address >> 8) & 0xFF), UInt8((address >> 16) & 0xFF), UInt8(address >> 24)] }
        _ = try await transfer(.download, value: 0, data: payload, operation: operation, address: address)
        let done = try await waitWhileBusy(operation: operation, address: address)
        guard done.state == .downloadIdle || done.state == .idle else {
            throw error(operation, .unexpectedState(expected: "dfuDNLOAD-IDLE"), address: address, status: done)
        }
    }

    // MARK: Operations

    /// SET_ADDRESS (DfuSe 0x21).
    public func setAddress(_ address: UInt32) async throws(DFUError) {
        try await command(.setAddress, address: address, operation: "set-address")
    }

    /// Erases the page starting at `page` (DfuSe 0x41). Refuses pages the layout marks as not
    /// erasable.
    public func erase(page: UInt32) async throws(DFUError) {
        guard let found = layout.page(containing: UInt64(page)), found.start == page else {
            throw error("erase", .notInLayout(reason: "0x\(String(page, radix: 16)) is not the start of a page in \(layout.name)"), address: page)
        }
        guard found.attributes.contains(.erasable) else {
            throw error("erase", .notInLayout(reason: "the page at 0x\(String(page, radix: 16)) is not erasable"), address: page)
        }
        try await command(.erase, address: page, operation: "erase")
    }

    /// The block size Particle bootloaders address DNLOAD and UPLOAD blocks by: address =
    /// (wBlockNum - 2) x 4096 + the address pointer, whatever the host's chunk size.
    public static let deviceBlockSize = 4096

    /// Writes `bytes` at `address` in chunks of wTransferSize (pages must already be erased).
    /// One SET_ADDRESS, then blocks 2, 3, 4... when chunks are the device's 4096-byte blocks
    /// (dfu-util sets the address before every chunk: three more transfers each); otherwise
    /// SET_ADDRESS before every chunk with block 2. Checks for cancellation between chunks.
    /// - Parameter progress: called with the bytes written so far.
    public func write(_ bytes: [UInt8], at address: UInt32, progress: @Sendable (Int) -> Void = { _ in }) async throws(DFUError) {
        guard let pages = layout.pages(overlapping: UInt64(address), count: bytes.count),
            pages.allSatisfy({ $0.attributes.contains(.writable) })
        else {
            throw error("write", .notInLayout(reason: "0x\(String(address, radix: 16))+\(bytes.count) is not writable memory of \(layout.name)"), address: address)
        }
        let blockAddressing = transferSize == Self.deviceBlockSize
        var offset = 0
        var block: UInt16 = 2
        while offset < bytes.count {
            if Task.isCancelled { try await cancel(address: address + UInt32(offset)) }
            let chunk = Array(bytes[offset..<min(bytes.count, offset + transferSize)])
            let chunkAddress = address + UInt32(offset)
            if offset == 0 || !blockAddressing || block == UInt16.max {
                try await setAddress(chunkAddress)
                block = 2
            }
            _ = try await transfer(.download, value: block, data: chunk, operation: "write", address: chunkAddress)
            let done = try await waitWhileBusy(operation: "write", address: chunkAddress, block: block)
            guard done.state == .downloadIdle else {
                throw error("write", .unexpectedState(expected: "dfuDNLOAD-IDLE"), address: chunkAddress, block: block, status: done)
            }
            offset += chunk.count
            block += 1
            progress(offset)
        }
    }

    /// Reads `count` bytes from `address` (UPLOAD from block 2), then ABORTs to dfuIDLE.
    public func read(at address: UInt32, count: Int, progress: @Sendable (Int) -> Void = { _ in }) async throws(DFUError) -> [UInt8] {
        guard let pages = layout.pages(overlapping: UInt64(address), count: count),
            pages.allSatisfy({ $0.attributes.contains(.readable) })
        else {
            throw error("read", .notInLayout(reason: "0x\(String(address, radix: 16))+\(count) is not readable memory of \(layout.name)"), address: address)
        }
        guard count > 0 else { return [] }
        let blockAddressing = transferSize == Self.deviceBlockSize
        var result: [UInt8] = []
        // Grows with what arrives: a count taken from a device's own header reserves at
        // most 1 MiB before the bytes are really there.
        result.reserveCapacity(min(count, 1 << 20))
        var block: UInt16 = 2
        while result.count < count {
            if Task.isCancelled { try await cancel(address: address + UInt32(result.count)) }
            if result.isEmpty || !blockAddressing || block == UInt16.max {
                // The device numbers blocks in its own 4096 bytes: other chunk sizes re-address
                // (from dfuUPLOAD-IDLE, ABORT first: SET_ADDRESS is a DNLOAD).
                if !result.isEmpty { try await abort() }
                try await setAddress(address + UInt32(result.count))
                try await abort()
                block = 2
            }
            let want = min(transferSize, count - result.count)
            let chunk = try await transfer(.upload, value: block, length: want, operation: "read", address: address + UInt32(result.count))
            guard chunk.count == want else {
                throw error("read", .unexpectedState(expected: "\(want) bytes, got \(chunk.count)"), address: address + UInt32(result.count), block: block)
            }
            result += chunk
            progress(result.count)
            block &+= 1
        }
        try await abort()
        return result
    }

    /// Reads several short ranges with one SET_ADDRESS: UPLOAD block n reads from
    /// (n - 2) x 4096 + the pointer, so with the pointer at the lowest 4096-aligned address
    /// every range is one UPLOAD per block it spans (a range that does not start on a block
    /// boundary reads from the block's start). Falls back to `read(at:count:)` per range when
    /// chunks are not the device's 4096-byte blocks or the ranges lie too far apart.
    public func read(ranges: [(address: UInt32, count: Int)]) async throws(DFUError) -> [[UInt8]] {
        let block = UInt32(Self.deviceBlockSize)
        guard let lowest = ranges.map(\.address).min(), transferSize == Self.deviceBlockSize,
            ranges.allSatisfy({ UInt64($0.address) + UInt64($0.count) - UInt64(lowest / block * block) < UInt64(65533) * UInt64(block) })
        else {
            var results: [[UInt8]] = []
            for range in ranges { results.append(try await read(at: range.address, count: range.count)) }
            return results
        }
        let base = lowest / block * block
        for range in ranges {
            let start = range.address / block * block
            guard range.count > 0, let pages = layout.pages(overlapping: UInt64(start), count: Int(range.address - start) + range.count),
                pages.allSatisfy({ $0.attributes.contains(.readable) })
            else {
                throw error("read", .notInLayout(reason: "0x\(String(range.address, radix: 16))+\(range.count) is not readable memory of \(layout.name)"), address: range.address)
            }
        }
        try await setAddress(base)
        try await abort()
        var results: [[UInt8]] = []
        for range in ranges {
            let start = range.address / block * block
            var bytes: [UInt8] = []
            var address = start
            let end = range.address + UInt32(range.count)
            while address < end {
                if Task.isCancelled { try await cancel(address: address) }
                let number = UInt16((address - base) / block + 2)
                let want = Int(min(block, end - address))
                let chunk = try await transfer(.upload, value: number, length: want, operation: "read", address: address)
                guard chunk.count == want else {
                    throw error("read", .unexpectedState(expected: "\(want) bytes, got \(chunk.count)"), address: address, block: number)
                }
                bytes += chunk
                address += UInt32(want)
            }
            results.append(Array(bytes.dropFirst(Int(range.address - start))))
        }
        try await abort()
        return results
    }

    /// The DfuSe commands the bootloader lists (UPLOAD block 0): `00 21 41` on Gen 2 and old
    /// Gen 3 bootloaders, plus `FA` (6.1.1) and `FB` (6.2.0).
    public func supportedCommands() async throws(DFUError) -> [UInt8] {
        try await ensureIdle()
        let list = try await transfer(.upload, value: 0, length: 16, operation: "get-commands")
        try await abort()
        return list
    }

    /// A Particle command (0xFA safe mode, 0xFB clear override), only if the bootloader lists
    /// it: unlisted commands are answered with errSTALLEDPKT.
    public func particleCommand(_ command: DfuSeCommand) async throws(DFUError) {
        let supported = try await supportedCommands()
        guard supported.contains(command.rawValue) else { throw error("command", .unsupportedCommand(command.rawValue)) }
        guard command == .enterSafeMode else {
            try await self.command(command, address: nil, operation: "command")
            return
        }
        // 0xFA: dfuMANIFEST-SYNC, then the device resets into safe mode; vanishing is success.
        _ = try await transfer(.download, value: 0, data: [command.rawValue], operation: "safe-mode")
        do throws(DFUError) {
            let reply = try await status(operation: "safe-mode")
            guard reply.status == .ok else { throw error("safe-mode", .status(reply.status), status: reply) }
        } catch let failure {
            if case .transfer(let transfer) = failure.kind, transfer == .noDevice { return }
            throw failure
        }
    }

    /// Leaves DFU mode: zero-length DNLOAD then GETSTATUS. Gen 3 answers dfuMANIFEST, Gen 2
    /// dfuDNLOAD-IDLE; either way it then resets, and a vanished device is success.
    public func leave(startAddress: UInt32? = nil) async throws(DFUError) -> DFULeaveOutcome {
        try await ensureIdle(operation: "leave")
        if let startAddress { try await setAddress(startAddress) }
        do throws(DFUError) {
            _ = try await transfer(.download, value: 2, data: [], operation: "leave")
            let reply = try await status(operation: "leave")
            switch reply.state {
            case .manifest, .manifestSync, .manifestWaitReset, .downloadIdle, .idle:
                return .acknowledged(reply.state)
            default:
                throw error("leave", .unexpectedState(expected: "dfuMANIFEST or dfuDNLOAD-IDLE"), status: reply)
            }
        } catch let failure {
            if case .transfer(let transfer) = failure.kind, transfer == .noDevice || transfer == .timeout || transfer == .stall {
                return .disappeared
            }
            throw failure
        }
    }

    /// Cancellation: ABORT to dfuIDLE, then report it.
    func cancel(address: UInt32) async throws(DFUError) -> Never {
        _ = try? await transfer(.abort, operation: "abort")
        throw error("cancel", .cancelled, address: address)
    }
}

extension DfuSeSession {
    /// A session on a device in DFU mode (interface 0 claimed, where the transport needs
    /// it): alt setting 0's memory layout and the transfer size from its own descriptors.
    /// The one way the station opens one, for real devices and emulated ones alike.
    /// - Throws: `DFUError` (descriptors unreadable, `DFU-NO-LAYOUT`), `DfuSeLayoutError`.
    public static func open(_ transport: any USBControlTransport, clock: any Clock<Duration>) async throws -> DfuSeSession {
        let info = try await DFUDeviceInfo.read(transport)
        guard let layout = info.altNames[0] else {
            throw DFUError(operation: "descriptors", kind: .noLayout, device: transport.deviceName, alt: 0)
        }
        return DfuSeSession(transport: transport, clock: clock, layout: try DfuSeLayout(layout), transferSize: info.transferSize,
                            protectionText: info.protectionText)
    }
}
