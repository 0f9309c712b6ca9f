import Foundation

/// A chart of a simulation over simulated time, rendered as a standalone SVG document a
/// person can open in a browser: line series, vertical event markers, axes, legend and title.
///
/// Invariant: `render()` returns well-formed XML for any input (all text is escaped, non-finite
/// numbers are skipped, empty input gives empty axes), and the output depends only on the
/// input, so the same run draws the same bytes.
public struct SVGTimeline: Sendable {
    public var title: String
    public var subtitle: String?
    public var xLabel: String = "simulated seconds"
    public var yLabel: String
    public var width: Int = 1000
    public var height: Int = 520
    public var series: [TimelineSeries] = []
    public var markers: [TimelineMarker] = []
    /// Whether the y axis starts at zero (honest proportions) or fits the data (detail, e.g. a
    /// dip from 10,000 to 9,000 members).
    public var yIncludesZero: Bool = true
    /// Above this many markers, labels are left to tooltips so the chart stays readable.
    public var maximumLabelledMarkers: Int = 30

    /// Colours that stay apart from each other for series and markers (Tableau 10).
    public static let palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

    public init(title: String, yLabel: String, series: [TimelineSeries] = [], markers: [TimelineMarker] = []) {
        self.title = title
        self.yLabel = yLabel
        self.series = series
        self.markers = markers
    }

    public func render() -> String {
        let legendWidth = 190.0
        let left = 75.0, top = subtitle == nil ? 50.0 : 66.0, bottom = 55.0
        let plotRight = Double(width) - legendWidth - 15
        let plotBottom = Double(height) - bottom
        let plotWidth = Swift.max(plotRight - left, 10), plotHeight = Swift.max(plotBottom - top, 10)

        let xs = series.flatMap { $0.points.map(\.seconds) } + markers.map(\.seconds)
        let ys = series.flatMap { $0.points.map(\.value) }
        let xAxis = AxisScale(low: 0, high: xs.filter(\.isFinite).max() ?? 1)
        let yLow = ys.filter(\.isFinite).min() ?? 0
        let yAxis = AxisScale(low: yIncludesZero ? Swift.min(0, yLow) : yLow, high: ys.filter(\.isFinite).max() ?? 1)
        func px(_ x: Double) -> Double { left + (x - xAxis.low) / (xAxis.high - xAxis.low) * plotWidth }
        func py(_ y: Double) -> Double { plotBottom - (y - yAxis.low) / (yAxis.high - yAxis.low) * plotHeight }

        var out = """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" font-family="Helvetica, Arial, sans-serif">
        <rect x="0" y="0" width="\(width)" height="\(height)" fill="white"/>
        <text x="\(n(left))" y="26" font-size="18" font-weight="bold">\(escape(title))</text>

        """
        if let subtitle {
            out += "<text x=\"\(n(left))\" y=\"46\" font-size=\"12\" fill=\"#555\">\(escape(subtitle))</text>\n"
        }

        // Grid, ticks and tick labels.
        out += "<g font-size=\"11\" fill=\"#333\">\n"
        for tick in xAxis.ticks {
            let x = n(px(tick))
            out += "<line x1=\"\(x)\" y1=\"\(n(top))\" x2=\"\(x)\" y2=\"\(n(plotBottom))\" stroke=\"#eee\"/>"
            out += "<text x=\"\(x)\" y=\"\(n(plotBottom + 16))\" text-anchor=\"middle\">\(xAxis.label(tick))</text>\n"
        }
        for tick in yAxis.ticks {
            let y = n(py(tick))
            out += "<line x1=\"\(n(left))\" y1=\"\(y)\" x2=\"\(n(plotRight))\" y2=\"\(y)\" stroke=\"#eee\"/>"
            out += "<text x=\"\(n(left - 6))\" y=\"\(n(py(tick) + 4))\" text-anchor=\"end\">\(yAxis.label(tick))</text>\n"
        }
        out += "</g>\n"
        out += "<rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(plotWidth))\" height=\"\(n(plotHeight))\" fill=\"none\" stroke=\"#333\"/>\n"
        out += "<text x=\"\(n(left + plotWidth / 2))\" y=\"\(n(Double(height) - 14))\" font-size=\"13\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        let yMid = n(top + plotHeight / 2)
        out += "<text x=\"18\" y=\"\(yMid)\" font-size=\"13\" text-anchor=\"middle\" transform=\"rotate(-90 18 \(yMid))\">\(escape(yLabel))</text>\n"

        // Markers under the lines, so the series stay readable.
        let labelMarkers = markers.count <= maximumLabelledMarkers
        out += "<g stroke-width=\"1.2\" opacity=\"0.75\">\n"
        for marker in markers where marker.seconds.isFinite {
            let x = n(px(marker.seconds))
            let detail = marker.label.map { "\(marker.category): \($0)" } ?? marker.category
            out += "<line x1=\"\(x)\" y1=\"\(n(top))\" x2=\"\(x)\" y2=\"\(n(plotBottom))\" stroke=\"\(escape(marker.color))\">"
            out += "<title>\(escape(detail)) at \(n(marker.seconds)) s</title></line>\n"
            if labelMarkers {
                out += "<text x=\"\(n(px(marker.seconds) + 3))\" y=\"\(n(top + 4))\" font-size=\"10\" fill=\"\(escape(marker.color))\" "
                out += "transform=\"rotate(90 \(n(px(marker.seconds) + 3)) \(n(top + 4)))\">\(escape(marker.label ?? marker.category))</text>\n"
            }
        }
        out += "</g>\n"

        for line in series {
            let coordinates = line.points
                .filter { $0.seconds.isFinite && $0.value.isFinite }
                .map { "\(n(px($0.seconds))),\(n(py($0.value)))" }
                .joined(separator: " ")
            let dash = line.dashed ? " stroke-dasharray=\"6 4\"" : ""
            out += "<polyline fill=\"none\" stroke=\"\(escape(line.color))\" stroke-width=\"1.8\"\(dash) points=\"\(coordinates)\">"
            out += "<title>\(escape(line.name))</title></polyline>\n"
        }

        // Legend: series, then marker categories in order of first appearance.
        var categories: [(name: String, color: String)] = []
        for marker in markers where !categories.contains(where: { $0.name == marker.category }) {
            categories.append((marker.category, marker.color))
        }
        let legendX = plotRight + 15
        var legendY = top + 8
        out += "<g font-size=\"12\" fill=\"#222\">\n"
        for line in series {
            let dash = line.dashed ? " stroke-dasharray=\"6 4\"" : ""
            out += "<line x1=\"\(n(legendX))\" y1=\"\(n(legendY))\" x2=\"\(n(legendX + 24))\" y2=\"\(n(legendY))\" stroke=\"\(escape(line.color))\" stroke-width=\"2\"\(dash)/>"
            out += "<text x=\"\(n(legendX + 30))\" y=\"\(n(legendY + 4))\">\(escape(line.name))</text>\n"
            legendY += 18
        }
        for category in categories {
            out += "<line x1=\"\(n(legendX + 12))\" y1=\"\(n(legendY - 7))\" x2=\"\(n(legendX + 12))\" y2=\"\(n(legendY + 7))\" stroke=\"\(escape(category.color))\" stroke-width=\"2\"/>"
            out += "<text x=\"\(n(legendX + 30))\" y=\"\(n(legendY + 4))\">\(escape(category.name))</text>\n"
            legendY += 18
        }
        out += "</g>\n</svg>\n"
        return out
    }

    /// A coordinate with at most two decimals (enough for a screen, and short output).
    private func n(_ value: Double) -> String { String(format: "%.2f", value) }

    /// Text and attribute values with XML's five special characters replaced.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default:
                // Control characters other than tab and newline are not allowed in XML 1.0.
                if let ascii = character.asciiValue, ascii < 0x20, ascii != 0x09, ascii != 0x0A { out += " " } else { out.append(character) }
            }
        }
        return out
    }

    private func escape(_ text: String) -> String { SVGTimeline.escape(text) }
}

/// A linear axis from `low` to `high` rounded out to "nice" tick steps (1, 2 or 5 × 10^k).
struct AxisScale {
    let low: Double
    let high: Double
    let step: Double

    init(low rawLow: Double, high rawHigh: Double, targetTicks: Double = 8) {
        // Beyond ±1e12 a value is nonsense for a timeline; clamping keeps the arithmetic finite.
        var low = rawLow.isFinite ? Swift.min(Swift.max(rawLow, -1e12), 1e12) : 0
        var high = rawHigh.isFinite ? Swift.min(Swift.max(rawHigh, -1e12), 1e12) : 1
        if high <= low { high = low + 1 }
        let raw = (high - low) / targetTicks
        let magnitude = pow(10, floor(log10(raw)))
        let normalized = raw / magnitude
        let step = (normalized < 1.5 ? 1 : normalized < 3 ? 2 : normalized < 7 ? 5 : 10) * magnitude
        low = floor(low / step) * step
        high = ceil(high / step) * step
        self.low = low
        self.high = high
        self.step = step
    }

    var ticks: [Double] {
        let count = Int(((high - low) / step).rounded())
        return (0...Swift.max(count, 0)).map { low + Double($0) * step }
    }

    func label(_ value: Double) -> String {
        if step >= 1 { return String(format: "%.0f", value) }
        let decimals = Swift.min(Int(ceil(-log10(step))), 9)
        return String(format: "%.\(decimals)f", value)
    }
}
