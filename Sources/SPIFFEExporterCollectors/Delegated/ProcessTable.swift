#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A process as /proc shows it. The PID alone can be recycled; PID and start time together name
/// one process, so a subscription by PID can tell when its process is gone.
struct ProcessIdentity: Hashable, Sendable, Comparable, CustomStringConvertible {
    var pid: Int32
    /// Field 22 of /proc/PID/stat: clock ticks after boot at which the process started.
    var startTime: UInt64

    static func < (a: Self, b: Self) -> Bool { (a.startTime, a.pid) < (b.startTime, b.pid) }

    var description: String { "\(pid)" }
}

/// Finds processes by name in a /proc tree (a fixture directory in tests). Reads only `stat` and
/// `cmdline`, which any user may read for any process.
struct ProcessTable: Sendable {
    var root: String

    init(root: String = "/proc") {
        self.root = root
    }

    /// Live processes whose name is `name`, oldest first. The name is the kernel's `comm` (at most
    /// 15 characters) or the last path component of argv[0], so long names and interpreters'
    /// scripts launched by path both match.
    func processes(named name: String) -> [ProcessIdentity] {
        guard let directory = opendir(root) else { return [] }
        defer { closedir(directory) }
        var found: [ProcessIdentity] = []
        while let entry = readdir(directory) {
            let entryName = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            guard let pid = Int32(entryName), pid > 0 else { continue }
            guard let stat = readSmallFile("\(root)/\(entryName)/stat"), let parsed = Self.parseStat(stat),
                parsed.state != "Z", parsed.state != "X"
            else { continue }
            var matches = parsed.comm == name
            if !matches, let cmdline = readSmallFile("\(root)/\(entryName)/cmdline") {
                matches = Self.argv0Name(cmdline) == name
            }
            if matches { found.append(ProcessIdentity(pid: pid, startTime: parsed.startTime)) }
        }
        return found.sorted()
    }

    /// `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so it ends at the last
    /// `)`; start time is field 22, the 20th after comm.
    static func parseStat(_ text: [UInt8]) -> (comm: String, state: String, startTime: UInt64)? {
        guard let open = text.firstIndex(of: UInt8(ascii: "(")), let close = text.lastIndex(of: UInt8(ascii: ")")),
            open < close
        else { return nil }
        let comm = String(decoding: text[(open + 1)..<close], as: UTF8.self)
        let fields = text[(close + 1)...].split(separator: UInt8(ascii: " "), omittingEmptySubsequences: true)
        guard fields.count > 19, let startTime = UInt64(String(decoding: fields[19], as: UTF8.self)) else {
            return nil
        }
        return (comm, String(decoding: fields[0], as: UTF8.self), startTime)
    }

    /// The last path component of argv[0] (`cmdline` is NUL-separated); `nil` for kernel threads.
    static func argv0Name(_ cmdline: [UInt8]) -> String? {
        guard let argv0 = cmdline.split(separator: 0, omittingEmptySubsequences: false).first, !argv0.isEmpty else {
            return nil
        }
        let name = argv0.split(separator: UInt8(ascii: "/")).last.map { String(decoding: $0, as: UTF8.self) }
        return name?.isEmpty == false ? name : nil
    }

    /// /proc files report size 0, so read until EOF, at most 64 KiB.
    private func readSmallFile(_ path: String) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while result.count < 65536 {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 { return nil }
            if count == 0 { break }
            result.append(contentsOf: buffer[0..<count])
        }
        return result
    }
}
