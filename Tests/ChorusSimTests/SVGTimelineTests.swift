import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
@testable import ChorusSim

/// Collects element names and parse errors.
private final class ElementCollector: NSObject, XMLParserDelegate {
    var elements: [String] = []
    var texts: [String] = []
    var error: Error?
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?, attributes: [String: String] = [:]) {
        elements.append(name)
    }
    func parser(_ parser: XMLParser, foundCharacters string: String) { texts.append(string) }
    func parser(_ parser: XMLParser, parseErrorOccurred parseError: Error) { error = parseError }
}

@Suite struct SVGTimelineTests {
    private func parse(_ svg: String) -> (ok: Bool, collector: ElementCollector) {
        let parser = XMLParser(data: Data(svg.utf8))
        let collector = ElementCollector()
        parser.delegate = collector
        let ok = parser.parse()
        return (ok && collector.error == nil, collector)
    }

    @Test func rendersWellFormedXML_withSeriesMarkersAndLegend() {
        let seconds = (0...120).map(Double.init)
        var chart = SVGTimeline(title: "Members alive per view <10k nodes> & \"crash\"", yLabel: "members")
        chart.subtitle = "seed 42"
        chart.series = [
            TimelineSeries(name: "min", color: SVGTimeline.palette[3], points: seconds.map { ($0, 9_900 - $0) }, dashed: true),
            TimelineSeries(name: "mean", color: SVGTimeline.palette[0], points: seconds.map { ($0, 9_950) }),
            TimelineSeries(name: "max", color: SVGTimeline.palette[2], points: seconds.map { ($0, .infinity) }),
        ]
        chart.markers = [
            TimelineMarker(seconds: 30, category: "crash", label: "n17 & n18", color: "#d62728"),
            TimelineMarker(seconds: 34.5, category: "detection", color: "#2ca02c"),
            TimelineMarker(seconds: 60, category: "crash", color: "#d62728"),
        ]
        let svg = chart.render()
        let (ok, collector) = parse(svg)
        #expect(ok)
        #expect(collector.elements.first == "svg")
        #expect(collector.elements.filter { $0 == "polyline" }.count == 3)
        #expect(collector.texts.joined().contains("<10k nodes> & \"crash\""))
        #expect(collector.texts.contains("simulated seconds"))
        // Legend: three series and two marker categories.
        #expect(collector.texts.filter { ["min", "mean", "max", "crash", "detection"].contains($0) }.count >= 5)
        #expect(chart.render() == svg)
    }

    @Test func emptyAndDegenerateInput_stillRenders() {
        #expect(parse(SVGTimeline(title: "", yLabel: "").render()).ok)
        var chart = SVGTimeline(title: "flat", yLabel: "v")
        chart.series = [TimelineSeries(name: "one", color: "black", points: [(5, 3)])]
        chart.markers = (0..<100).map { TimelineMarker(seconds: Double($0), category: "tick\u{1}", color: "gray") }
        #expect(parse(chart.render()).ok)
        chart.series = [TimelineSeries(name: "huge", color: "black", points: [(0, -1e300), (1, 1e300), (.nan, 1)])]
        #expect(parse(chart.render()).ok)
    }

    @Test func fittedYAxis_startsNearTheData() {
        var chart = SVGTimeline(title: "dip", yLabel: "members")
        chart.series = [TimelineSeries(name: "mean", color: "blue", points: [(0, 10_000), (60, 9_000), (120, 9_050)])]
        chart.yIncludesZero = false
        let (ok, collector) = parse(chart.render())
        #expect(ok)
        #expect(collector.texts.contains("9000") && collector.texts.contains("10000") && !collector.texts.contains("2000"))
    }

    @Test func axisTicks_areNiceNumbers() {
        let axis = AxisScale(low: 0, high: 117)
        #expect(axis.step == 10 && axis.high == 120 && axis.ticks.first == 0 && axis.ticks.last == 120)
        let small = AxisScale(low: 0, high: 0.37)
        #expect(small.step == 0.05 && small.label(0.05) == "0.05")
    }
}
