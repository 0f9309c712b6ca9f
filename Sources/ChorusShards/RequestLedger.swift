import ChorusWire

/// Remembers the reply to each recently applied request id, so a client that retries a
/// request (after a timeout, a leader change or a forward that failed half-way) gets the first
/// reply and the command is not applied twice (Raft dissertation §6.3).
///
/// Invariants: at most `capacity` ids are remembered; when full, the id applied longest ago is
/// forgotten first (FIFO by apply order, so every replica forgets the same ids at the same
/// index). The ledger is part of the snapshot image, so replicas agree after a restore.
public struct RequestLedger: Sendable, Equatable {
    public struct Record: Sendable, Equatable {
        public var index: UInt64
        public var reply: [UInt8]
    }

    public let capacity: Int
    private var records: [[UInt8]: Record] = [:]
    /// Ids in apply order; `head` is the oldest still remembered.
    private var order: [[UInt8]] = []
    private var head = 0

    public init(capacity: Int) {
        precondition(capacity > 0)
        self.capacity = capacity
    }

    public var count: Int { records.count }

    public func reply(for requestID: [UInt8]) -> Record? { records[requestID] }

    public mutating func record(_ requestID: [UInt8], index: UInt64, reply: [UInt8]) {
        guard !requestID.isEmpty, records[requestID] == nil else { return }
        if records.count >= capacity {
            let oldest = order[head]
            head += 1
            records[oldest] = nil
            if head > 4096 && head * 2 > order.count {
                order.removeFirst(head)
                head = 0
            }
        }
        records[requestID] = Record(index: index, reply: reply)
        order.append(requestID)
    }

    // MARK: image

    public func encode(into w: inout ByteWriter) {
        w.varint(UInt64(order.count - head))
        for id in order[head...] {
            guard let r = records[id] else { continue }
            w.blob(id); w.varint(r.index); w.blob(r.reply)
        }
    }

    public init(capacity: Int, decoding r: inout ByteReader) throws(WireError) {
        self.init(capacity: capacity)
        let n = try r.count("ledger records", limit: min(capacity, r.remaining / 3))
        for _ in 0..<n {
            let id = try r.blob("request id", limit: CommandEnvelope.maxRequestIDBytes)
            let index = try r.varint()
            let reply = try r.blob("reply", limit: r.remaining)
            guard !id.isEmpty, records[id] == nil else { throw .invalid(field: "ledger", reason: "empty or repeated request id") }
            record(id, index: index, reply: reply)
        }
    }

    public static func == (a: RequestLedger, b: RequestLedger) -> Bool {
        a.capacity == b.capacity && a.records == b.records && Array(a.order[a.head...]) == Array(b.order[b.head...])
    }
}
