import ChorusStorage

/// A file opened read-only (`FileOpenMode.readOnly`), so an archive on read-only backup media,
/// or a data file, is never opened for writing; read whole or in pieces.
/// Invariant: `size` is the size when opened; the handle is open until `close()` or deinit.
final class ReadOnlyFile {
    let path: String
    let size: Int
    private let file: any StorageFile

    init(_ path: String) throws(CommandFailure) {
        self.path = path
        do {
            file = try PosixFileSystem().openFile(at: path, mode: .readOnly)
            size = try file.size()
        } catch {
            throw CommandFailure("cannot open \(path): \(error)")
        }
    }

    deinit { file.close() }

    func close() { file.close() }

    /// Up to `count` bytes at `offset` (fewer only at the end of the file).
    func read(at offset: Int, count: Int) throws(CommandFailure) -> [UInt8] {
        do { return try file.read(at: offset, count: count) } catch { throw CommandFailure("cannot read \(path): \(error)") }
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
