#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// A TCP listener on 127.0.0.1 and its accept thread: what the emulator's USB/IP server and
/// the fake cloud's HTTP server share. Nothing else on the machine can reach it.
public final class LoopbackListener: @unchecked Sendable {
    /// The port it listens on (the one asked for, or the free one the kernel chose for 0).
    public let port: UInt16
    // `closed` is guarded by `lock`; the descriptor is read by the accept thread only until then.
    private let fd: Int32
    private let lock = NSLock()
    private var closed = false

    /// Binds 127.0.0.1:`port` (0: any free port) and listens with `backlog`.
    public init(port: UInt16, backlog: Int32) throws(LoopbackError) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LoopbackError(call: "socket", port: port, code: errno) }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, backlog) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw LoopbackError(call: "bind/listen", port: port, code: code)
        }
        var actual = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &actual) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.fd = fd
        self.port = UInt16(bigEndian: actual.sin_port)
    }

    /// Starts the accept thread: each connection is served by `serve` on a thread of its own
    /// (which owns and closes the descriptor). Only `close()` ends the loop; a client that
    /// gave up before the accept, or a momentary shortage of descriptors or buffers, never
    /// stops the next connection from being taken.
    public func accept(threadName: String, noDelay: Bool = false, _ serve: @escaping @Sendable (Int32) -> Void) {
        let thread = Thread { [fd] in
            while true {
                let client = Glibc.accept(fd, nil, nil)
                if client < 0 {
                    switch errno {
                    case EBADF, EINVAL, ENOTSOCK: return
                    case EINTR, ECONNABORTED, EPROTO: continue
                    default:
                        usleep(50_000)
                        continue
                    }
                }
                if noDelay {
                    var one: Int32 = 1
                    setsockopt(client, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
                }
                let connection = Thread { serve(client) }
                connection.name = threadName + " connection"
                connection.start()
            }
        }
        thread.name = threadName
        thread.start()
    }

    /// Stops listening (the accept thread ends); connections already served go on.
    public func close() {
        lock.lock()
        defer { lock.unlock() }
        guard !closed else { return }
        closed = true
        shutdown(fd, Int32(SHUT_RDWR))
        Glibc.close(fd)
    }

    deinit { close() }
}

/// A listener that could not be opened: the call, the port and the errno.
public struct LoopbackError: Error, Hashable, Sendable, CustomStringConvertible {
    public let call: String
    public let port: UInt16
    public let code: Int32
    public var description: String {
        "\(call) 127.0.0.1:\(port) failed: \(String(cString: strerror(code))) (errno \(code))"
    }
}
