import CShims
import Foundation
import Seams
#if canImport(Glibc)
import Glibc
#endif

/// A serial port (`/dev/ttyACM0`) as a `Seams.ByteStream`: raw 8N1 at any baud rate
/// (termios2), non-blocking descriptor, reads waiting in poll(2) on a thread of their own,
/// never on the cooperative pool.
public final class SerialPort: ByteStream, @unchecked Sendable {
    public let name: String
    // `fd` is set once; closed in deinit.
    private let fd: Int32

    /// Opens and configures the port. 14400 baud asks a Particle device for DFU mode.
    public init(path: String, baud: UInt32 = 9600) throws(ByteStreamError) {
        name = path
        let descriptor = open(path, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
        guard descriptor >= 0 else { throw .io(path, call: "open", code: errno) }
        let configured = cshim_tty_configure(descriptor, baud)
        guard configured == 0 else {
            close(descriptor)
            throw .io(path, call: "ioctl(TCSETS2)", code: -configured)
        }
        fd = descriptor
    }

    deinit { close(fd) }

    public func write(_ bytes: [UInt8]) async throws(ByteStreamError) {
        let fd = self.fd, name = self.name
        let result: Result<Void, ByteStreamError> = await Self.blocking {
            var sent = 0
            while sent < bytes.count {
                let n = bytes[sent...].withUnsafeBufferPointer { Glibc.write(fd, $0.baseAddress, $0.count) }
                if n < 0 {
                    if errno == EAGAIN || errno == EINTR {
                        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                        _ = poll(&p, 1, 1000)
                        continue
                    }
                    return .failure(errno == EIO || errno == ENODEV ? .closed(name) : .io(name, call: "write", code: errno))
                }
                sent += n
            }
            return .success(())
        }
        try result.get()
    }

    public func read(timeout: Duration) async throws(ByteStreamError) -> [UInt8] {
        let fd = self.fd, name = self.name
        let milliseconds = Int32(clamping: timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        let result: Result<[UInt8], ByteStreamError> = await Self.blocking {
            var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, milliseconds)
            if ready < 0 { return errno == EINTR ? .success([]) : .failure(.io(name, call: "poll", code: errno)) }
            if ready == 0 { return .success([]) }
            if p.revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 && p.revents & Int16(POLLIN) == 0 { return .failure(.closed(name)) }
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = Glibc.read(fd, &buffer, buffer.count)
            if n < 0 { return errno == EAGAIN ? .success([]) : .failure(errno == EIO ? .closed(name) : .io(name, call: "read", code: errno)) }
            if n == 0 { return .failure(.closed(name)) }
            return .success(Array(buffer.prefix(n)))
        }
        return try result.get()
    }

    static func blocking<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: body()) }
            thread.name = "serial"
            thread.start()
        }
    }
}
