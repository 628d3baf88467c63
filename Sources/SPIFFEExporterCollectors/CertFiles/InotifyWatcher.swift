import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#endif

/// Which events in a watched directory concern a source.
public enum WatchFilter: Sendable, Hashable {
    /// Every entry (glob directories).
    case any
    /// Only these entry names; with `dotDot`, also names starting with `..` (the `..data` symlink
    /// and timestamped directories of a Kubernetes atomic-writer volume).
    case names(Set<String>, dotDot: Bool)

    func accepts(_ name: String?) -> Bool {
        // Events about the directory itself (deleted, moved, watch removed) carry no name.
        guard let name, !name.isEmpty else { return true }
        switch self {
        case .any: return true
        case .names(let names, let dotDot): return names.contains(name) || (dotDot && name.hasPrefix(".."))
        }
    }

    func merged(with other: WatchFilter) -> WatchFilter {
        switch (self, other) {
        case (.names(let a, let da), .names(let b, let db)): .names(a.union(b), dotDot: da || db)
        default: .any
        }
    }
}

/// Linux inotify on directories, read on a dedicated thread (never on the Swift concurrency pool):
/// the thread blocks in `poll` on the inotify descriptor and a wake-up pipe, maps each event to the
/// sources that watch that directory and hands their indices to `handler`. Sources reconcile their
/// watches after each evaluation with ``setWatches(source:_:)``; a replaced directory gets a new
/// watch there, and a removed one (`IN_IGNORED`) triggers its sources so they re-add it.
final class InotifyWatcher: Sendable {
    // <sys/inotify.h> values, spelled out because composite macros do not import into Swift.
    static let inModify: UInt32 = 0x0000_0002
    static let inAttrib: UInt32 = 0x0000_0004
    static let inCloseWrite: UInt32 = 0x0000_0008
    static let inMovedFrom: UInt32 = 0x0000_0040
    static let inMovedTo: UInt32 = 0x0000_0080
    static let inCreate: UInt32 = 0x0000_0100
    static let inDelete: UInt32 = 0x0000_0200
    static let inDeleteSelf: UInt32 = 0x0000_0400
    static let inMoveSelf: UInt32 = 0x0000_0800
    static let inQueueOverflow: UInt32 = 0x0000_4000
    static let inIgnored: UInt32 = 0x0000_8000
    static let inOnlyDirectory: UInt32 = 0x0100_0000
    static let inExcludeUnlinked: UInt32 = 0x0400_0000

    static let mask: UInt32 =
        inCloseWrite | inMovedTo | inMovedFrom | inCreate | inDelete | inDeleteSelf | inMoveSelf | inAttrib
        | inModify | inOnlyDirectory | inExcludeUnlinked

    private struct State: Sendable {
        /// Watch descriptor → source index → filter.
        var byDescriptor: [Int32: [Int: WatchFilter]] = [:]
        /// Source index → watched path → watch descriptor.
        var bySource: [Int: [String: Int32]] = [:]
        var phase: Phase = .idle
    }

    private enum Phase: Sendable { case idle, running, stopped }

    private let fd: Int32
    private let wakeRead: Int32
    private let wakeWrite: Int32
    private let state = Mutex(State())
    private let sourceCount: Int
    /// Events read so far (diagnostics and tests).
    let eventCount = Atomic<Int>(0)

    /// `nil` when inotify is unavailable (then only the periodic rescan runs).
    init?(sourceCount: Int) {
        let fd = inotify_init1(Int32(O_NONBLOCK | O_CLOEXEC))
        guard fd >= 0 else { return nil }
        var pipeFDs: [Int32] = [-1, -1]
        guard pipe(&pipeFDs) == 0 else {
            close(fd)
            return nil
        }
        // pipe2 is not exported by the Glibc module; set the flags one by one.
        for end in pipeFDs {
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
        }
        self.fd = fd
        self.wakeRead = pipeFDs[0]
        self.wakeWrite = pipeFDs[1]
        self.sourceCount = sourceCount
    }

    /// Starts the reader thread; `handler` runs on it with the indices of the triggered sources.
    func start(_ handler: @escaping @Sendable (Set<Int>) -> Void) {
        let shouldStart = state.withLock { s in
            guard s.phase == .idle else { return false }
            s.phase = .running
            return true
        }
        guard shouldStart else { return }
        let thread = Thread { [self] in
            self.readLoop(handler)
        }
        thread.name = "cert-files-inotify"
        thread.start()
    }

    /// Wakes the thread, which closes every descriptor and exits. Safe to call more than once.
    func stop() {
        let wasRunning: Bool? = state.withLock { s in
            switch s.phase {
            case .stopped: return nil
            case .idle:
                s.phase = .stopped
                return false
            case .running:
                s.phase = .stopped
                return true
            }
        }
        guard let wasRunning else { return }
        if wasRunning {
            var byte: UInt8 = 1
            _ = write(wakeWrite, &byte, 1)
        } else {
            closeAll()
        }
    }

    private func closeAll() {
        close(fd)
        close(wakeRead)
        close(wakeWrite)
    }

    struct WatchUpdate: Sendable {
        /// Paths that could not be watched (missing, or the watch limit reached); the periodic
        /// rescan covers them.
        var failed: [String] = []
        /// Paths watched now that were not before: events there may have been missed until now.
        var added: [String] = []
    }

    /// Makes `source` watch exactly `desired` (path → filter).
    @discardableResult
    func setWatches(source: Int, _ desired: [String: WatchFilter]) -> WatchUpdate {
        state.withLock { s in
            var update = WatchUpdate()
            guard s.phase != .stopped else { return update }
            let previous = s.bySource[source] ?? [:]
            for wd in Set(previous.values) { s.byDescriptor[wd]?[source] = nil }
            var current: [String: Int32] = [:]
            for (path, filter) in desired.sorted(by: { $0.key < $1.key }) {
                let wd = inotify_add_watch(fd, path, Self.mask)
                guard wd >= 0 else {
                    update.failed.append(path)
                    continue
                }
                current[path] = wd
                if previous[path] != wd { update.added.append(path) }
                let existing = s.byDescriptor[wd]?[source]
                s.byDescriptor[wd, default: [:]][source] = existing.map { $0.merged(with: filter) } ?? filter
            }
            s.bySource[source] = current
            for wd in Set(previous.values) where s.byDescriptor[wd]?.isEmpty ?? true {
                s.byDescriptor[wd] = nil
                // The watch may be gone already (directory deleted); the error is irrelevant.
                _ = inotify_rm_watch(fd, wd)
            }
            return update
        }
    }

    var watchCount: Int { state.withLock { $0.byDescriptor.count } }

    private func readLoop(_ handler: @Sendable (Set<Int>) -> Void) {
        var fds = [
            pollfd(fd: fd, events: Int16(POLLIN), revents: 0), pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
        ]
        let bufferSize = 64 * 1024
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: bufferSize, alignment: 8)
        defer {
            buffer.deallocate()
            closeAll()
        }
        while true {
            fds[0].revents = 0
            fds[1].revents = 0
            let ready = poll(&fds, 2, -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 { return }
            guard fds[0].revents != 0 else { continue }
            var triggered: Set<Int> = []
            while true {
                let count = read(fd, buffer, bufferSize)
                if count <= 0 { break }
                triggered.formUnion(handleEvents(UnsafeRawBufferPointer(start: buffer, count: count)))
            }
            if !triggered.isEmpty { handler(triggered) }
        }
    }

    /// Parses `struct inotify_event { int wd; uint32_t mask, cookie, len; char name[len]; }` records.
    private func handleEvents(_ bytes: UnsafeRawBufferPointer) -> Set<Int> {
        var triggered: Set<Int> = []
        var offset = 0
        let header = 16
        while offset + header <= bytes.count {
            let wd = bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)
            let mask = bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self)
            let length = Int(bytes.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
            var name: String?
            if length > 0, offset + header + length <= bytes.count {
                let raw = bytes[(offset + header)..<(offset + header + length)]
                name = String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            offset += header + length
            eventCount.add(1, ordering: .relaxed)
            if mask & Self.inQueueOverflow != 0 {
                // Events were lost: every source re-reads.
                triggered.formUnion(0..<sourceCount)
                continue
            }
            state.withLock { s in
                guard let sources = s.byDescriptor[wd] else { return }
                if mask & Self.inIgnored != 0 {
                    // The directory is gone (or was unmounted); its sources re-add what exists now.
                    s.byDescriptor[wd] = nil
                    for source in sources.keys {
                        s.bySource[source] = s.bySource[source]?.filter { $0.value != wd }
                    }
                    triggered.formUnion(sources.keys)
                    return
                }
                for (source, filter) in sources where filter.accepts(name) {
                    triggered.insert(source)
                }
            }
        }
        return triggered
    }
}
