#!/usr/bin/env python3
"""Small SVG charts for the benchmark scripts, Python standard library only.

Three kinds of chart, each written as one standalone SVG file:
    cdf(path, title, series, xlabel)            latency distribution: one CDF line per series,
                                                log-scale x axis (ms)
    lines(path, title, series, xlabel, ylabel)  y against x, one line per series, each point
                                                with an optional min-max bar (repeats)
    timeline(path, title, series, markers)      step lines over time with labelled vertical
                                                event markers (failover timelines)
and check(path), which parses a file with xml.etree and raises if it is not well formed.

As a program:
    python3 bench/svgplot.py check FILE.svg...   exit 1 if any file is not a well-formed SVG
    python3 bench/svgplot.py cdf OUT.svg TITLE NAME=FILE.csv...
        a CDF of the `ms` column of each CSV (rows whose `operation` is `acquire`, or every
        row if there is no such column), as `chorus bench lock --latencies` writes them

Invariant: every function writes well-formed XML for any input (text escaped, non-finite
numbers dropped, empty input gives empty axes), and the bytes depend only on the input.
"""
import csv
import math
import sys
import xml.etree.ElementTree as ET
from xml.sax.saxutils import escape

# Tableau 10, as Sources/ChorusSim/SVGTimeline.swift uses them.
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
WIDTH, HEIGHT = 980, 500
LEFT, RIGHT, TOP, BOTTOM = 75, 270, 56, 55


def _num(x):
    """A coordinate with at most two decimals and no trailing zeros."""
    text = "%.2f" % x
    return text.rstrip("0").rstrip(".") if "." in text else text


def _finite(*xs):
    return all(isinstance(x, (int, float)) and math.isfinite(x) for x in xs)


def _nice_step(span, target=6):
    raw = span / max(target, 1)
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def _linear_ticks(lo, hi):
    if hi <= lo:
        hi = lo + 1
    step = _nice_step(hi - lo)
    lo2, hi2 = math.floor(lo / step) * step, math.ceil(hi / step) * step
    n = int(round((hi2 - lo2) / step))
    return lo2, hi2, [lo2 + i * step for i in range(n + 1)]


def _log_ticks(lo, hi):
    lo = max(lo, 1e-6)
    hi = max(hi, lo * 10)
    a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    if b <= a:
        b = a + 1
    return 10.0 ** a, 10.0 ** b, [10.0 ** e for e in range(a, b + 1)]


def _label(v):
    if v == 0:
        return "0"
    if abs(v) >= 10000:
        return "{:,.0f}".format(v)
    if abs(v) >= 1 and float(v).is_integer():
        return "%d" % v
    return ("%.3f" % v).rstrip("0").rstrip(".")


class _Frame:
    """Axes, grid, labels and legend of one chart; maps data to pixels."""

    def __init__(self, title, subtitle, xlabel, ylabel, xr, yr, xlog=False, xticks=None):
        self.xlog = xlog
        self.x0, self.x1, self.xticks = (_log_ticks if xlog else _linear_ticks)(*xr)
        if xticks and not xlog:
            # Only the measured x values are labelled (3, 5, 7 nodes; 1, 8, 32 clients), on an
            # axis that spans them with a small margin.
            lo, hi = min(xticks), max(xticks)
            margin = (hi - lo) * 0.04 or 1
            self.x0, self.x1, self.xticks = lo - margin, hi + margin, sorted(xticks)
        self.y0, self.y1, self.yticks = _linear_ticks(*yr)
        self.pw, self.ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
        self.out = ['<?xml version="1.0" encoding="UTF-8"?>',
                    '<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
                    'font-family="Helvetica, Arial, sans-serif">' % (WIDTH, HEIGHT, WIDTH, HEIGHT),
                    '<rect x="0" y="0" width="%d" height="%d" fill="white"/>' % (WIDTH, HEIGHT),
                    '<text x="%d" y="26" font-size="17" font-weight="bold">%s</text>' % (LEFT, escape(title))]
        if subtitle:
            self.out.append('<text x="%d" y="44" font-size="12" fill="#555">%s</text>' % (LEFT, escape(subtitle)))
        self.out.append('<g font-size="11" fill="#333">')
        for t in self.xticks:
            x = _num(self.px(t))
            self.out.append('<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="#eee"/>' % (x, TOP, x, TOP + self.ph))
            self.out.append('<text x="%s" y="%d" text-anchor="middle">%s</text>' % (x, TOP + self.ph + 16, _label(t)))
        for t in self.yticks:
            y = _num(self.py(t))
            self.out.append('<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#eee"/>' % (LEFT, y, LEFT + self.pw, y))
            self.out.append('<text x="%d" y="%s" text-anchor="end">%s</text>' % (LEFT - 6, _num(self.py(t) + 4), _label(t)))
        self.out.append('</g>')
        self.out.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>' % (LEFT, TOP, self.pw, self.ph))
        self.out.append('<text x="%s" y="%d" font-size="13" text-anchor="middle">%s</text>'
                        % (_num(LEFT + self.pw / 2), HEIGHT - 14, escape(xlabel)))
        ym = _num(TOP + self.ph / 2)
        self.out.append('<text x="18" y="%s" font-size="13" text-anchor="middle" transform="rotate(-90 18 %s)">%s</text>'
                        % (ym, ym, escape(ylabel)))
        self.legend = []

    def px(self, x):
        if self.xlog:
            x = max(x, self.x0)
            f = (math.log10(x) - math.log10(self.x0)) / (math.log10(self.x1) - math.log10(self.x0))
        else:
            f = (x - self.x0) / (self.x1 - self.x0)
        return LEFT + f * self.pw

    def py(self, y):
        return TOP + self.ph - (y - self.y0) / (self.y1 - self.y0) * self.ph

    def polyline(self, points, colour, name, dash=None, width=2):
        pts = " ".join("%s,%s" % (_num(self.px(x)), _num(self.py(y))) for x, y in points if _finite(x, y))
        if pts:
            extra = ' stroke-dasharray="%s"' % dash if dash else ""
            self.out.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="%s"%s><title>%s</title></polyline>'
                            % (pts, colour, width, extra, escape(name)))
        self.legend.append((name, colour, dash))

    def finish(self):
        x = LEFT + self.pw + 14
        for i, (name, colour, dash) in enumerate(self.legend):
            y = TOP + 10 + i * 20
            extra = ' stroke-dasharray="%s"' % dash if dash else ""
            self.out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="3"%s/>' % (x, y, x + 22, y, colour, extra))
            self.out.append('<text x="%d" y="%d" font-size="12">%s</text>' % (x + 28, y + 4, escape(name)))
        self.out.append('</svg>')
        return "\n".join(self.out) + "\n"


def _write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    check(path)


def cdf(path, title, series, xlabel="latency, ms (log scale)", subtitle=None):
    """series: list of (name, [values]); one CDF step line each, fraction 0..1 on y."""
    clean = [(name, sorted(v for v in values if _finite(v) and v > 0)) for name, values in series]
    everything = [v for _, vs in clean for v in vs]
    xr = (min(everything), max(everything)) if everything else (0.1, 10)
    f = _Frame(title, subtitle, xlabel, "fraction of requests at or below", xr, (0, 1), xlog=True)
    for i, (name, vs) in enumerate(clean):
        n = len(vs)
        # At most ~400 points per line: the step at each quantile, enough for the eye.
        stride = max(1, n // 400)
        pts = [(vs[k], (k + 1) / n) for k in range(0, n, stride)]
        if n and pts[-1][0] != vs[-1]:
            pts.append((vs[-1], 1.0))
        label = "%s (n=%d)" % (name, n)
        f.polyline(pts, PALETTE[i % len(PALETTE)], label)
    for q in (0.5, 0.99):
        y = _num(f.py(q))
        f.out.append('<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="#999" stroke-dasharray="3 3"/>' % (LEFT, y, LEFT + f.pw, y))
        f.out.append('<text x="%d" y="%s" font-size="10" fill="#777">p%d</text>' % (LEFT + 4, _num(f.py(q) - 3), int(q * 100)))
    _write(path, f.finish())


def lines(path, title, series, xlabel, ylabel, subtitle=None, xticks=None, references=()):
    """series: list of (name, [(x, y) or (x, y, low, high)]); a marker and a low-high bar at
    each point (the spread of repeats), lines joining the points in x order. references: list
    of (name, [(x, y)]) drawn as grey dashed lines without markers (a claim to compare with)."""
    xs = [p[0] for _, ps in list(series) + list(references) for p in ps if _finite(p[0])]
    ys = [v for _, ps in list(series) + list(references) for p in ps for v in p[1:] if _finite(v)]
    xr = (min(xs), max(xs)) if xs else (0, 1)
    f = _Frame(title, subtitle, xlabel, ylabel, xr, (0, max(ys) * 1.05 if ys else 1), xticks=xticks)
    for name, ps in references:
        f.polyline(sorted(p for p in ps if _finite(*p)), "#7f7f7f", name, dash="6 4", width=1.5)
    for i, (name, ps) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        ps = sorted(p for p in ps if _finite(*p))
        f.polyline([(p[0], p[1]) for p in ps], colour, name)
        for p in ps:
            cx, cy = _num(f.px(p[0])), _num(f.py(p[1]))
            if len(p) >= 4:
                f.out.append('<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="1.5"/>'
                             % (cx, _num(f.py(p[2])), cx, _num(f.py(p[3])), colour))
            f.out.append('<circle cx="%s" cy="%s" r="3.5" fill="%s"><title>%s: %s at %s</title></circle>'
                         % (cx, cy, colour, escape(name), _label(round(p[1], 3)), _label(p[0])))
    _write(path, f.finish())


def timeline(path, title, series, markers=(), xlabel="seconds", ylabel="", subtitle=None):
    """series: list of (name, [(t, value)]) drawn as step lines; markers: list of (t, label)
    drawn as labelled vertical lines."""
    ts = [p[0] for _, ps in series for p in ps if _finite(p[0])] + [m[0] for m in markers if _finite(m[0])]
    vs = [p[1] for _, ps in series for p in ps if _finite(p[1])]
    xr = (min(ts + [0]), max(ts)) if ts else (0, 1)
    f = _Frame(title, subtitle, xlabel, ylabel, xr, (0, max(vs) * 1.08 if vs else 1))
    for j, (t, label) in enumerate(markers):
        if not _finite(t):
            continue
        x = _num(f.px(t))
        f.out.append('<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="#d62728" stroke-dasharray="4 3"/>' % (x, TOP, x, TOP + f.ph))
        # Labels in the right third hang to the left of their line, so they stay inside.
        right = f.px(t) > LEFT + f.pw * 0.67
        f.out.append('<text x="%s" y="%d" font-size="11" fill="#d62728"%s>%s</text>'
                     % (_num(f.px(t) + (-4 if right else 4)), TOP + 14 + (j % 4) * 13,
                        ' text-anchor="end"' if right else "", escape(label)))
    for i, (name, ps) in enumerate(series):
        ps = sorted(p for p in ps if _finite(*p))
        steps = []
        for k, (t, v) in enumerate(ps):
            if k:
                steps.append((t, ps[k - 1][1]))
            steps.append((t, v))
        f.polyline(steps, PALETTE[i % len(PALETTE)], name, dash="6 3" if i % 2 else None)
    _write(path, f.finish())


def check(path):
    """Raises ValueError unless path holds well-formed XML whose root is an <svg> element."""
    root = ET.parse(path).getroot()
    if root.tag not in ("{http://www.w3.org/2000/svg}svg", "svg"):
        raise ValueError("%s: root element is %s, not svg" % (path, root.tag))
    return root


def read_latencies(path, operation="acquire"):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [float(r["ms"]) for r in rows if r.get("operation", operation) == operation]


def main(argv):
    if len(argv) >= 2 and argv[0] == "check":
        bad = 0
        for p in argv[1:]:
            try:
                check(p)
            except (ET.ParseError, ValueError, OSError) as e:
                print("not a well-formed SVG: %s: %s" % (p, e), file=sys.stderr)
                bad += 1
        print("%d of %d SVG files well formed" % (len(argv) - 1 - bad, len(argv) - 1))
        return 1 if bad else 0
    if len(argv) >= 4 and argv[0] == "cdf":
        series = []
        for item in argv[3:]:
            name, _, file = item.partition("=")
            series.append((name, read_latencies(file)))
        cdf(argv[1], argv[2], series)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
