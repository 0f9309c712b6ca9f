/// The frames of one segment file, walked from just after its header until the first frame that
/// does not check (length and CRC). Bodies are not decoded here.
/// Invariant: `frames` are consecutive and end at `goodEnd`; `damage`, if any, starts at
/// `goodEnd`.
struct SegmentWalk {
    struct Frame { var offset: Int; var bodyBytes: Int }

    var frames: [Frame] = []
    var goodEnd: Int
    var damage: (offset: Int, reason: String)?

    init(_ bytes: [UInt8], from start: Int, maxRecordBytes: Int) {
        var offset = start
        walk: while true {
            switch RecordFrame.check(bytes, at: offset, maxRecordBytes: maxRecordBytes) {
            case .end:
                break walk
            case let .damaged(reason):
                damage = (offset, reason)
                break walk
            case let .valid(bodyBytes):
                frames.append(Frame(offset: offset, bodyBytes: bodyBytes))
                offset += RecordFrame.headerBytes + bodyBytes
            }
        }
        goodEnd = offset
    }
}
