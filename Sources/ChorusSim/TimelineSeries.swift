/// One line of an `SVGTimeline`: a named series of (simulated seconds, value) points.
///
/// Invariant: points are drawn in the order given (callers sample in time order); points
/// with a non-finite coordinate are skipped, not drawn at zero.
public struct TimelineSeries: Sendable {
    public var name: String
    /// Any SVG/CSS colour, e.g. `"#1f77b4"` or `"steelblue"`.
    public var color: String
    public var points: [(seconds: Double, value: Double)]
    public var dashed: Bool

    public init(name: String, color: String, points: [(seconds: Double, value: Double)], dashed: Bool = false) {
        self.name = name
        self.color = color
        self.points = points
        self.dashed = dashed
    }
}

/// A moment worth seeing on an `SVGTimeline`: a crash, a suspicion, a detection, a partition.
///
/// Invariant: markers of one `category` share a legend entry (the first one's colour is
/// shown); `label` is optional detail shown as a tooltip and, when markers are few, as text.
public struct TimelineMarker: Sendable {
    public var seconds: Double
    public var category: String
    public var label: String?
    public var color: String

    public init(seconds: Double, category: String, label: String? = nil, color: String) {
        self.seconds = seconds
        self.category = category
        self.label = label
        self.color = color
    }
}
