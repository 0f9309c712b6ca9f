/// A FIFO of bytes for stream I/O: appended at the back, consumed from the front without
/// moving the rest on every read. Invariant: `storage[head...]` holds exactly the queued
/// bytes, in order; consumed space is reclaimed once it is both large and over half the
/// storage, so the amortised cost per byte stays constant.
struct ByteQueue {
    private(set) var storage: [UInt8] = []
    private(set) var head = 0

    var count: Int { storage.count - head }
    var isEmpty: Bool { head == storage.count }

    /// The queued bytes as a slice (indices are positions in `storage`).
    var bytes: ArraySlice<UInt8> { storage[head...] }

    mutating func append(_ bytes: some Collection<UInt8>) {
        storage.append(contentsOf: bytes)
    }

    /// Appends up to `maxCount` bytes produced by `fill`, which writes into the buffer it is
    /// given and returns how many bytes it wrote (or a negative value for none).
    mutating func appendUsing(maxCount: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Int) -> Int {
        // Fill a scratch buffer and copy in only what was written: growing the array by
        // maxCount zeros and trimming it back cost two element-wise passes per read, which
        // made debug builds of the agent (used by the process tests) crawl.
        guard maxCount > 0 else { return fill(UnsafeMutableRawBufferPointer(start: nil, count: 0)) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maxCount) { scratch in
            let result = fill(UnsafeMutableRawBufferPointer(scratch))
            let n = max(0, min(result, maxCount))
            if n > 0 { storage.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[0..<n])) }
            return result
        }
    }

    /// Drops `n` bytes from the front (`n` is clamped to `count`).
    mutating func consume(_ n: Int) {
        head += min(max(0, n), count)
        if head == storage.count {
            storage.removeAll(keepingCapacity: storage.capacity <= 1 << 20)
            head = 0
        } else if head >= 4096 && head * 2 >= storage.count {
            storage.removeFirst(head)
            head = 0
        }
    }

    mutating func removeAll() {
        storage = []
        head = 0
    }
}
