import Foundation
import Loopback
import Seams

#if canImport(Glibc)
import Glibc
#endif

/// A device the USB/IP front can serve.
public protocol USBIPServable: USBControlTransport {
    var deviceDescriptor: [UInt8] { get async }
    var configurationDescriptor: [UInt8] { get async }
    /// False once the device has left the bus (reset, unplugged): the server then closes
    /// the connection so the kernel sees the disconnect.
    var isAttached: Bool { get async }
    /// Plugged in again (a new import after the device vanished).
    func replug() async
    /// Host → device data on a bulk or interrupt endpoint; false means STALL.
    func endpointOut(_ endpoint: UInt8, _ data: [UInt8]) async -> Bool
    /// Device → host data on a bulk or interrupt endpoint; waits until there is some
    /// (returns early, possibly empty, when the task is cancelled); nil means STALL.
    func endpointIn(_ endpoint: UInt8, maxLength: Int) async -> [UInt8]?
    /// Wakes waiting `endpointIn` calls so cancelled ones can return.
    func wakeReaders() async
    /// A host imported the device: it is on the bus now (a normal-mode device powers on and
    /// starts its cloud timer from here).
    func imported() async
}

extension EmulatedDFUDevice: USBIPServable {
    public var isAttached: Bool { presence == .attached }
    public func endpointOut(_ endpoint: UInt8, _ data: [UInt8]) async -> Bool { false }
    public func endpointIn(_ endpoint: UInt8, maxLength: Int) async -> [UInt8]? { nil }
    public func wakeReaders() async {}
    public func imported() async {}
}

extension EmulatedNormalDevice: USBIPServable {
    public func imported() async {
        if events.isEmpty { powerOn() }
    }

    public func endpointOut(_ endpoint: UInt8, _ data: [UInt8]) async -> Bool {
        guard endpoint == 1 else { return false }
        bulkOut(data)
        return true
    }

    public func endpointIn(_ endpoint: UInt8, maxLength: Int) async -> [UInt8]? {
        switch endpoint {
        case 1: return await bulkIn(maxLength: maxLength)
        case 2: return await notification()
        default: return nil
        }
    }
}

/// Serves emulated devices over USB/IP on a loopback TCP port, each import on its own
/// connection and thread, so `usbip attach` (vhci-hcd) puts them on a real kernel's USB
/// stack. Control transfers on endpoint 0 go to the device; UNLINK is answered.
public final class USBIPServer: @unchecked Sendable {
    // `devices` is guarded by `lock`; the socket is owned by the accept thread.
    private let lock = NSLock()
    private var devices: [String: any USBIPServable] = [:]
    private let listener: LoopbackListener
    public let port: UInt16

    /// Binds 127.0.0.1:`port` (3240 by convention).
    public init(port: UInt16 = 3240) throws(LoopbackError) {
        listener = try LoopbackListener(port: port, backlog: 16)
        self.port = listener.port
        listener.accept(threadName: "usbip-accept", noDelay: true) { [self] client in self.serve(client) }
    }

    /// Offers a device under a bus ID (`1-1`, `1-2`, ...), replacing the one there (a mode
    /// change re-enumerates with a new personality).
    public func add(_ device: any USBIPServable, busID: String) {
        lock.withLock { devices[busID] = device }
    }

    private func serve(_ fd: Int32) {
        defer { close(fd) }
        guard let head = readExactly(fd, 8), head.be16(0) == USBIP.version || head.be16(0) >= 0x0100, head.be16(2) == USBIP.opRequestImport,
            let busBytes = readExactly(fd, 32)
        else { return }
        let busID = String(decoding: busBytes.prefix { $0 != 0 }, as: UTF8.self)
        guard let device = lock.withLock({ devices[busID] }) else {
            var reply: [UInt8] = []
            reply.be(USBIP.version); reply.be(USBIP.opReplyImport); reply.be(UInt32(1))
            _ = Connection(fd: fd).write(reply)
            return
        }
        let (descriptor, configuration) = blocking { () async -> ([UInt8], [UInt8]) in
            await device.replug()
            return (await device.deviceDescriptor, await device.configurationDescriptor)
        }
        var reply: [UInt8] = []
        reply.be(USBIP.version); reply.be(USBIP.opReplyImport); reply.be(UInt32(0))
        let record = USBIP.DeviceRecord(
            path: "/sys/devices/station-emulator/\(busID)", busID: busID, busNumber: 1,
            deviceNumber: UInt32(busID.split(separator: "-").last.flatMap { UInt32($0) } ?? 1),
            vendorID: UInt16(descriptor[8]) | UInt16(descriptor[9]) << 8, productID: UInt16(descriptor[10]) | UInt16(descriptor[11]) << 8,
            bcdDevice: UInt16(descriptor[12]) | UInt16(descriptor[13]) << 8,
            deviceClass: descriptor[4], deviceSubClass: descriptor[5], deviceProtocol: descriptor[6],
            configurationValue: configuration[5], numConfigurations: descriptor[17], numInterfaces: configuration[4])
        guard Connection(fd: fd).write(reply + record.encoded) else { return }
        blocking { await device.imported() }

        let connection = Connection(fd: fd)
        defer { connection.cancelAll(device: device) }
        // A device that leaves the bus on its own (a reset some time after its last reply)
        // closes the connection, so vhci-hcd reports the disconnect as a real unplug would.
        let watcher = Task {
            while !Task.isCancelled, await device.isAttached {
                try? await Task.sleep(for: .milliseconds(50))
            }
            if !Task.isCancelled { shutdown(fd, Int32(SHUT_RDWR)) }
        }
        defer { watcher.cancel() }
        while let header = readExactly(fd, USBIP.headerSize) {
            let command = header.be32(0)
            if command == USBIP.commandUnlink {
                let seqnum = header.be32(4), target = header.be32(20)
                if connection.unlink(target) {
                    guard connection.write(USBIP.returnUnlink(seqnum: seqnum, status: .reset)) else { return }
                } else {
                    // Already answered: nothing to cancel.
                    guard connection.write(USBIP.returnUnlink(seqnum: seqnum, status: .ok)) else { return }
                }
                continue
            }
            guard command == USBIP.commandSubmit else { return }
            let submit = USBIP.parseSubmit(header)
            var out: [UInt8] = []
            if !submit.directionIn, submit.transferBufferLength > 0 {
                guard let data = readExactly(fd, Int(submit.transferBufferLength)) else { return }
                out = data
            }
            let payload = out
            if submit.endpoint != 0 {
                let endpoint = UInt8(submit.endpoint)
                if submit.directionIn {
                    // Stays pending until the device has data (or the URB is unlinked);
                    // answered strictly in submission order, as a real host controller does.
                    connection.submitIn(seqnum: submit.seqnum, length: Int(submit.transferBufferLength), endpoint: endpoint, device: device)
                } else {
                    let accepted = blocking { await device.endpointOut(endpoint, payload) }
                    let reply = accepted
                        ? USBIP.returnSubmit(seqnum: submit.seqnum, status: .ok, data: [], actualLength: payload.count)
                        : USBIP.returnSubmit(seqnum: submit.seqnum, status: .stall, data: [])
                    guard connection.write(reply) else { return }
                }
                continue
            }
            let s = submit.setup
            let setup = ControlSetup(
                requestType: s[0], request: s[1], value: UInt16(s[2]) | UInt16(s[3]) << 8,
                index: UInt16(s[4]) | UInt16(s[5]) << 8, length: UInt16(s[6]) | UInt16(s[7]) << 8)
            let result: Result<[UInt8], USBTransferError> = blocking {
                do throws(USBTransferError) { return .success(try await device.control(setup, data: payload, timeout: .seconds(5))) } catch { return .failure(error) }
            }
            let reply: [UInt8]
            switch result {
            case .success(let data):
                reply = submit.directionIn
                    ? USBIP.returnSubmit(seqnum: submit.seqnum, status: .ok, data: data)
                    : USBIP.returnSubmit(seqnum: submit.seqnum, status: .ok, data: [], actualLength: payload.count)
            case .failure(.noDevice):
                // The device is gone (unplugged, reset): closing the connection makes
                // vhci-hcd report the disconnect to the kernel, as a real unplug would.
                return
            case .failure(let error):
                reply = USBIP.returnSubmit(seqnum: submit.seqnum, status: Self.status(error), data: [])
            }
            guard connection.write(reply) else { return }
            // A device that reset after this reply (leaving DFU) leaves the bus now.
            if !blocking({ await device.isAttached }) { return }
        }
    }

    static func status(_ error: USBTransferError) -> USBIP.Status {
        switch error {
        case .stall: .stall
        case .timeout: .timeout
        case .noDevice: .noDevice
        case .overflow: .overflow
        case .io, .replayMismatch: .io
        }
    }

    /// Runs async device code from this connection's own thread (never the cooperative pool's).
    private func blocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task {
            box.value = await body()
            done.signal()
        }
        done.wait()
        return box.value!
    }

    private func readExactly(_ fd: Int32, _ count: Int) -> [UInt8]? {
        var buffer = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, count - got) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return nil }
            got += n
        }
        return buffer
    }

}

/// One imported device's socket: writes from several threads and tasks go through one lock.
/// IN URBs wait in a queue per endpoint; one pump task per endpoint reads the device and
/// answers the queue's head, so data leaves in the order the device produced it and the
/// URBs complete in the order they were submitted. Data read for a URB that was unlinked
/// meanwhile is kept for the next one: nothing is lost or reordered.
final class Connection: @unchecked Sendable {
    // `queues`, `carry`, `pumps`, `wake` and `closed` are guarded by `lock`; writes to `fd`
    // are serialised by `writeLock`.
    private let lock = NSLock()
    private let writeLock = NSLock()
    private var queues: [UInt8: [(seqnum: UInt32, length: Int)]] = [:]
    private var carry: [UInt8: [UInt8]] = [:]
    private var pumps: [UInt8: Task<Void, Never>] = [:]
    private var wake: [UInt8: CheckedContinuation<Void, Never>] = [:]
    private var closed = false
    let fd: Int32

    init(fd: Int32) { self.fd = fd }

    /// Queues an IN URB and starts the endpoint's pump if it is not running.
    func submitIn(seqnum: UInt32, length: Int, endpoint: UInt8, device: any USBIPServable) {
        lock.withLock {
            guard !closed else { return }
            queues[endpoint, default: []].append((seqnum, length))
            deliverLocked(endpoint)
            if let waiting = wake.removeValue(forKey: endpoint) { waiting.resume() }
            if pumps[endpoint] == nil {
                pumps[endpoint] = Task { await self.pump(endpoint, device: device) }
            }
        }
    }

    /// Removes a queued URB; false if it was already answered.
    func unlink(_ seqnum: UInt32) -> Bool {
        lock.withLock {
            for (endpoint, queue) in queues {
                if let index = queue.firstIndex(where: { $0.seqnum == seqnum }) {
                    queues[endpoint]?.remove(at: index)
                    return true
                }
            }
            return false
        }
    }

    private func pump(_ endpoint: UInt8, device: any USBIPServable) async {
        while !Task.isCancelled {
            // Wait for a URB to answer.
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                lock.withLock {
                    if closed || !(queues[endpoint] ?? []).isEmpty { continuation.resume() } else { wake[endpoint] = continuation }
                }
            }
            guard let length = lock.withLock({ closed ? nil : queues[endpoint]?.first?.length ?? 0 }) else { return }
            guard length > 0 else { continue }
            let data = await device.endpointIn(endpoint, maxLength: length)
            if Task.isCancelled { return }
            lock.withLock {
                guard let data else {
                    // STALL answers the head.
                    if let head = queues[endpoint]?.first {
                        queues[endpoint]?.removeFirst()
                        _ = write(USBIP.returnSubmit(seqnum: head.seqnum, status: .stall, data: []))
                    }
                    return
                }
                carry[endpoint, default: []] += data
                deliverLocked(endpoint)
            }
        }
    }

    /// Gives carried data to queued URBs, oldest first. Caller holds `lock`.
    private func deliverLocked(_ endpoint: UInt8) {
        while let bytes = carry[endpoint], !bytes.isEmpty, let head = queues[endpoint]?.first {
            queues[endpoint]?.removeFirst()
            let chunk = Array(bytes.prefix(head.length))
            carry[endpoint] = Array(bytes.dropFirst(chunk.count))
            _ = write(USBIP.returnSubmit(seqnum: head.seqnum, status: .ok, data: chunk))
        }
    }

    func cancelAll(device: any USBIPServable) {
        let tasks = lock.withLock { () -> [Task<Void, Never>] in
            closed = true
            let all = Array(pumps.values)
            pumps.removeAll()
            queues.removeAll()
            for waiting in wake.values { waiting.resume() }
            wake.removeAll()
            return all
        }
        for task in tasks { task.cancel() }
        Task { await device.wakeReaders() }
    }

    func write(_ bytes: [UInt8]) -> Bool {
        writeLock.withLock {
            var sent = 0
            while sent < bytes.count {
                // send with MSG_NOSIGNAL: a client that went away (the kernel detached an
                // unplugged device) must give an error here, not a SIGPIPE that ends the bench.
                let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return false }
                sent += n
            }
            return true
        }
    }
}

/// Carries a result from a task to the waiting thread (the semaphore orders the accesses).
final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}

