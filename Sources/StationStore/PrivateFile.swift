import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Files the station writes that hold its trail (the store, the event log, reports): never
/// world-readable. Owner-only (0600), or 0640 with the group a station's `[store] group`
/// names, so a QA account in that group can read them. Folders the station creates for them
/// are 0700 (0750 with a group).
public enum PrivateFile {
    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        public let path: String
        public let detail: String
        public var description: String { "cannot write \(path): \(detail)" }
    }

    /// 0600, or 0640 with a group.
    public static func mode(group: String?) -> mode_t { group == nil ? 0o600 : 0o640 }

    /// The group's ID, or why it cannot be used.
    public static func groupID(_ name: String, for path: String) throws(Failure) -> gid_t {
        guard let entry = getgrnam(name) else {
            throw Failure(path: path, detail: "the group '\(name)' ([store] group) does not exist on this machine; create it (groupadd \(name)) or remove the key")
        }
        return entry.pointee.gr_gid
    }

    /// Creates the folder holding `path` (and its parents) when missing.
    public static func createFolder(for path: String, group: String?) throws(Failure) {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        guard !FileManager.default.fileExists(atPath: folder.path) else { return }
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: group == nil ? 0o700 : 0o750])
        } catch {
            throw Failure(path: path, detail: "cannot create its folder: \(error.localizedDescription)")
        }
        // With a group, setgid: files SQLite makes in it later (-wal, -shm) get that group too.
        if let group {
            _ = chown(folder.path, uid_t.max, try groupID(group, for: path))
            _ = chmod(folder.path, 0o2750)
        }
    }

    /// Creates `path` empty with the station's mode when it does not exist (an existing file
    /// is left as it is). SQLite gives its `-wal` and `-shm` files the database's mode.
    public static func create(_ path: String, group: String?) throws(Failure) {
        try createFolder(for: path, group: group)
        let gid = try group.map { name throws(Failure) in try groupID(name, for: path) }
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode(group: group))
        if descriptor < 0 {
            if errno == EEXIST { return }
            throw Failure(path: path, detail: String(cString: strerror(errno)))
        }
        defer { close(descriptor) }
        try settle(descriptor, path: path, gid: gid, group: group)
    }

    /// Writes `data` to `path` with the station's mode, replacing any earlier file at once
    /// (a temporary file beside it, renamed): a reader sees the old file or the new one.
    public static func write(_ data: Data, to path: String, group: String?) throws(Failure) {
        try createFolder(for: path, group: group)
        let gid = try group.map { name throws(Failure) in try groupID(name, for: path) }
        let temporary = path + ".tmp-\(getpid())"
        unlink(temporary)  // a stale one from a crashed run; never follow a link planted there
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode(group: group))
        guard descriptor >= 0 else { throw Failure(path: path, detail: String(cString: strerror(errno))) }
        var closed = false
        defer {
            if !closed { close(descriptor) }
        }
        do throws(Failure) {
            try settle(descriptor, path: path, gid: gid, group: group)
            let failedErrno: Int32 = data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> Int32 in
                var offset = 0
                while offset < raw.count {
                    let written = Glibc.write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                    if written < 0 {
                        if errno == EINTR { continue }
                        return errno
                    }
                    offset += written
                }
                return 0
            }
            guard failedErrno == 0 else { throw Failure(path: path, detail: String(cString: strerror(failedErrno))) }
            guard fsync(descriptor) == 0 else { throw Failure(path: path, detail: String(cString: strerror(errno))) }
            closed = true
            guard close(descriptor) == 0 else { throw Failure(path: path, detail: String(cString: strerror(errno))) }
            guard rename(temporary, path) == 0 else { throw Failure(path: path, detail: String(cString: strerror(errno))) }
        } catch {
            unlink(temporary)
            throw error
        }
    }

    /// The mode exactly (whatever the umask), and the group when one is named.
    static func settle(_ descriptor: Int32, path: String, gid: gid_t?, group: String?) throws(Failure) {
        if let gid, fchown(descriptor, uid_t.max, gid) != 0 {
            throw Failure(path: path, detail: "cannot give it to the group '\(group ?? "")': \(String(cString: strerror(errno))). This user must be in that group")
        }
        guard fchmod(descriptor, mode(group: group)) == 0 else { throw Failure(path: path, detail: String(cString: strerror(errno))) }
    }
}
