import SPIFFEExporterCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Expands ``GlobPattern``s on the file system with `opendir`/`readdir`, pruning directories that
/// cannot hold a match. Symlinked directories are followed, but each directory (device, inode) is
/// entered once and depth is capped, so a symlink loop cannot make the walk endless.
/// Blocking: run it off the Swift concurrency pool.
enum GlobWalker {
    struct Result: Sendable {
        /// Matching non-directory paths (as the pattern spells them, not resolved).
        var files: Set<String> = []
        /// Directories entered; candidates for inotify watches.
        var directories: [String] = []
        /// For a root that does not exist: the closest existing ancestor and the name below it.
        var missingRoots: [(ancestor: String, child: String)] = []
    }

    static let maxDepth = 64
    // <dirent.h> d_type values.
    static let typeUnknown: UInt8 = 0
    static let typeDirectory: UInt8 = 4
    static let typeRegular: UInt8 = 8
    static let typeSymlink: UInt8 = 10

    static func walk(_ patterns: [GlobPattern]) -> Result {
        var result = Result()
        for pattern in patterns {
            var visited: Set<[UInt64]> = []
            walk(pattern, directory: pattern.root, relative: [], depth: 0, visited: &visited, into: &result)
            if case .failure = CertFileReader.status(pattern.root) {
                result.missingRoots.append(PathNames.closestExistingAncestor(of: pattern.root))
            }
        }
        return result
    }

    private static func walk(
        _ pattern: GlobPattern, directory: String, relative: [String], depth: Int, visited: inout Set<[UInt64]>,
        into result: inout Result
    ) {
        guard depth <= maxDepth, let handle = opendir(directory) else { return }
        defer { closedir(handle) }
        var info = stat()
        if fstat(dirfd(handle), &info) == 0 {
            guard visited.insert([UInt64(info.st_dev), UInt64(info.st_ino)]).inserted else { return }
        }
        result.directories.append(directory)
        var subdirectories: [(String, [String])] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            let components = relative + [name]
            let path = directory == "/" ? "/" + name : directory + "/" + name
            var isDirectory = entry.pointee.d_type == typeDirectory
            if entry.pointee.d_type == typeSymlink || entry.pointee.d_type == typeUnknown {
                var target = stat()
                isDirectory = stat(path, &target) == 0 && (target.st_mode & S_IFMT) == S_IFDIR
            }
            if isDirectory {
                if pattern.mayContain(components) { subdirectories.append((path, components)) }
            } else if pattern.matches(components) {
                // Broken or looping symlinks are kept: reading them reports the reason.
                result.files.insert(pattern.path(relative: components))
            }
        }
        for (path, components) in subdirectories {
            walk(pattern, directory: path, relative: components, depth: depth + 1, visited: &visited, into: &result)
        }
    }
}

/// Path string helpers (no normalisation beyond what the watches need).
enum PathNames {
    static func parent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        if slash == trimmed.startIndex { return "/" }
        return String(trimmed[..<slash])
    }

    static func lastComponent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return String(trimmed) }
        return String(trimmed[trimmed.index(after: slash)...])
    }

    /// Walks up from `path` to the first directory that exists; returns it and the name of its
    /// child on the way to `path` (what will appear there when the missing part is created).
    static func closestExistingAncestor(of path: String) -> (ancestor: String, child: String) {
        var child = lastComponent(of: path)
        var current = parent(of: path)
        var steps = 0
        while steps < 256 {
            if case .success(let status) = CertFileReader.status(current), status.isDirectory { break }
            if current == "/" || current == "." { break }
            child = lastComponent(of: current)
            current = parent(of: current)
            steps += 1
        }
        return (current, child)
    }

    static func resolved(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }
}
