#!/usr/bin/python3
"""Draws a soak's samples (CSV from tools/soak/soak.py) as an SVG: resident memory and open
descriptors over time, one panel each, with the warm-up and the two judged windows shaded,
each judged window's median drawn across it and the limit of the rule (second window's median
x 1.05 + 256 KiB, or + 4 descriptors) over the last. Plain SVG text, no plotting library.

    tools/soak/plot.py build/soak/samples.csv build/soak/soak.svg WINDOW_S [TITLE]
"""
import csv
import statistics
import sys

WIDTH, PANEL_H, LEFT, RIGHT, TOP, GAP = 900, 210, 80, 20, 50, 70


def nice_step(span, ticks=5):
    """A round tick step (1, 2 or 5 times a power of ten) giving about `ticks` ticks."""
    raw = max(span / ticks, 1e-9)
    mag = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 1
    while mag > raw:
        mag /= 10
    for m in (1, 2, 5, 10):
        if mag * m >= raw:
            return mag * m
    return mag * 10


def axis_range(values, pad_frac=0.1):
    lo, hi = min(values), max(values)
    pad = max((hi - lo) * pad_frac, abs(hi) * 0.02, 1)
    step = nice_step(hi - lo + 2 * pad)
    lo = (int((lo - pad) / step)) * step
    hi = (int((hi + pad) / step) + 1) * step
    return max(lo, 0), hi, step


def fmt(v):
    return f"{v:g}" if v < 1e5 else f"{v:.3g}"


def panel(out, y0, times, values, label, t_end, windows, medians, limit):
    """One panel at vertical offset y0: frame, shaded windows, ticks, the series, the judged
    windows' medians and the limit the last one must stay under."""
    lo, hi, step = axis_range(values + [limit[2]])
    w = WIDTH - LEFT - RIGHT

    def px(t):
        return LEFT + w * t / t_end

    def py(v):
        return y0 + PANEL_H - PANEL_H * (v - lo) / (hi - lo)

    for (a, b, colour, name) in windows:
        out.append(f'<rect x="{px(a):.1f}" y="{y0}" width="{px(b) - px(a):.1f}" height="{PANEL_H}" '
                   f'fill="{colour}"/>')
        out.append(f'<text x="{(px(a) + px(b)) / 2:.1f}" y="{y0 + PANEL_H - 6}" font-size="11" '
                   f'text-anchor="middle" fill="#555">{name}</text>')
    out.append(f'<rect x="{LEFT}" y="{y0}" width="{w}" height="{PANEL_H}" fill="none" stroke="#333"/>')
    v = lo
    while v <= hi + step / 2:
        out.append(f'<line x1="{LEFT - 4}" x2="{LEFT + w}" y1="{py(v):.1f}" y2="{py(v):.1f}" '
                   f'stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 7}" y="{py(v) + 4:.1f}" font-size="11" text-anchor="end">'
                   f'{fmt(v)}</text>')
        v += step
    tstep = nice_step(t_end, 10)
    t = 0.0
    while t <= t_end + 1e-9:
        out.append(f'<line x1="{px(t):.1f}" x2="{px(t):.1f}" y1="{y0 + PANEL_H}" y2="{y0 + PANEL_H + 4}" '
                   f'stroke="#333"/>')
        out.append(f'<text x="{px(t):.1f}" y="{y0 + PANEL_H + 16}" font-size="11" text-anchor="middle">'
                   f'{fmt(t)}</text>')
        t += tstep
    out.append(f'<text x="{LEFT + w / 2}" y="{y0 + PANEL_H + 32}" font-size="12" text-anchor="middle">'
               f'time (s)</text>')
    out.append(f'<text transform="translate(18,{y0 + PANEL_H / 2}) rotate(-90)" font-size="12" '
               f'text-anchor="middle">{label}</text>')
    pts = " ".join(f"{px(t):.1f},{py(v):.1f}" for t, v in zip(times, values))
    out.append(f'<polyline points="{pts}" fill="none" stroke="#1f5fa8" stroke-width="1.5"/>')
    for (a, b, m) in medians:
        out.append(f'<line x1="{px(a):.1f}" x2="{px(b):.1f}" y1="{py(m):.1f}" y2="{py(m):.1f}" '
                   f'stroke="#c0392b" stroke-width="2" stroke-dasharray="6,3"/>')
        out.append(f'<text x="{px(b) - 3:.1f}" y="{py(m) - 5:.1f}" font-size="11" text-anchor="end" '
                   f'fill="#c0392b">median {fmt(round(m, 1))}</text>')
    a, b, m = limit
    out.append(f'<line x1="{px(a):.1f}" x2="{px(b):.1f}" y1="{py(m):.1f}" y2="{py(m):.1f}" '
               f'stroke="#555" stroke-width="1" stroke-dasharray="2,2"/>')
    out.append(f'<text x="{px(a) + 3:.1f}" y="{py(m) - 4:.1f}" font-size="11" fill="#555">limit {fmt(round(m))}</text>')


def draw(csv_path, svg_path, window_s, title):
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    times = [float(r["t_s"]) for r in rows]
    t_end = 5 * window_s          # the run's length: soak.py's windows are a fifth of it
    windows = [(0, window_s, "#eeeeee", "warm-up"),
               (window_s, 2 * window_s, "#dbe9f6", "second window"),
               (t_end - window_s, t_end, "#dff0d8", "last window")]
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
           f'height="{TOP + 2 * PANEL_H + GAP + 50}" font-family="sans-serif">',
           f'<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{WIDTH / 2}" y="22" font-size="15" text-anchor="middle">{title}</text>']
    panels = (("rss_kib", "resident memory (KiB)", 256), ("fds", "open descriptors", 4))
    for i, (col, label, allowance) in enumerate(panels):
        values = [float(r[col]) for r in rows]

        def median(a, b):
            vs = [v for t, v in zip(times, values) if a <= t < b]
            return statistics.median(vs) if vs else values[-1]

        meds = [(window_s, 2 * window_s, median(window_s, 2 * window_s)),
                (t_end - window_s, t_end, median(t_end - window_s, t_end + 1))]
        limit = (t_end - window_s, t_end, meds[0][2] * 1.05 + allowance)
        panel(out, TOP + i * (PANEL_H + GAP), times, values, label, t_end, windows, meds, limit)
    out.append("</svg>")
    with open(svg_path, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    draw(sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "wspushd soak")
