import Glibc

/// A file opened read-only (`O_RDONLY`), read at offsets with `pread` (so an archive on
/// read-only backup media, or a data file, is never opened for writing).
/// Invariant: the descriptor is open until `close()` or deinit; EINTR is retried and short
/// reads are continued, so a read returns fewer bytes than asked only at the end of the file.
final class ReadOnlyFile {
    let path: String
    private var fd: Int32
    /// The size when opened.
    let size: Int

    init(_ path: String) throws(CommandFailure) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw CommandFailure("cannot open \(path): \(String(cString: strerror(errno)))") }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw CommandFailure("cannot stat \(path): \(String(cString: strerror(code)))")
        }
        self.fd = fd
        size = Int(st.st_size)
    }

    deinit { close() }

    func close() {
        if fd >= 0 { Glibc.close(fd); fd = -1 }
    }

    /// Up to `count` bytes at `offset`.
    func read(at offset: Int, count: Int) throws(CommandFailure) -> [UInt8] {
        guard count > 0 else { return [] }
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        var failure: Int32 = 0
        buffer.withUnsafeMutableBytes { raw in
            guard let base = raw.baseAddress else { return }
            while done < count {
                let n = pread(fd, base + done, count - done, off_t(offset + done))
                if n > 0 { done += n; continue }
                if n == 0 { break }
                if errno == EINTR { continue }
                failure = errno
                break
            }
        }
        if failure != 0 { throw CommandFailure("cannot read \(path): \(String(cString: strerror(failure)))") }
        if done < count { buffer.removeSubrange(done...) }
        return buffer
    }

    /// Hands `range` to `body` in pieces of at most `chunk` bytes, in order; fails when the
    /// file ends first.
    func forEachChunk(of range: Range<Int>, chunk: Int = 1 << 20, _ body: ([UInt8]) throws(CommandFailure) -> Void) throws(CommandFailure) {
        var at = range.lowerBound
        while at < range.upperBound {
            let piece = try read(at: at, count: min(chunk, range.upperBound - at))
            guard !piece.isEmpty else { throw CommandFailure("\(path) ended at \(at) bytes, before \(range.upperBound)") }
            try body(piece)
            at += piece.count
        }
    }
}
