"""`patrol stats`: the numbers of ``patrol.office.stats`` as charts (matplotlib, static SVG inline) in
one offline HTML page with the reports' Content-Security-Policy (no network, no script but its own).

matplotlib is used through ``Figure`` objects only (no pyplot global state); text is drawn as paths
(``svg.fonttype = path``) so the page needs no font, and ``svg.hashsalt`` keeps the output stable.
"""

from __future__ import annotations

import io
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from patrol.office.stats import CityStats, WeeklySeries, city_stats
from patrol.report.model import category_colour

UNIT_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
READY_SCRIPT = 'document.documentElement.setAttribute("data-js", "ready");'


def _svg(fig: Any, name: str) -> str:
    import matplotlib

    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "path", "svg.hashsalt": f"patrol-{name}"}):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    text = buf.getvalue()
    text = text[text.index("<svg"):]
    return re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.S)  # RDF boilerplate


def _figure(w_in: float = 6.4, h_in: float = 3.0):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w_in, h_in), dpi=100)
    ax = fig.add_subplot()
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    return fig, ax


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="#777777")
    ax.set_xticks([])
    ax.set_yticks([])


def _week_labels(s: WeeklySeries) -> list[str]:
    return [w.strftime("%d %b") for w in s.weeks]


def chart_opened_closed(st: CityStats) -> str:
    """Two panels of stacked bars per week by category: opened above, closed below."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.2, 4.4), dpi=100)
    axes = fig.subplots(2, 1, sharex=True)
    cats = sorted(set(st.opened.counts) | set(st.closed.counts))
    x = list(range(len(st.opened.weeks)))
    for ax, series, title in ((axes[0], st.opened, "opened"), (axes[1], st.closed, "closed")):
        bottom = [0] * len(x)
        for c in cats:
            vals = series.counts.get(c, (0,) * len(x))
            ax.bar(x, vals, bottom=bottom, color=category_colour(c), label=c.replace("_", " "), width=0.7)
            bottom = [b + v for b, v in zip(bottom, vals)]
        ax.set_ylabel(f"cases {title}")
        ax.spines[["top", "right"]].set_visible(False)
        ax.yaxis.get_major_locator().set_params(integer=True)
    axes[1].set_xticks(x, _week_labels(st.opened), rotation=0 if len(x) < 10 else 60, fontsize=8)
    axes[1].set_xlabel("week starting (UTC)")
    if cats:
        axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return _svg(fig, "opened-closed")


def chart_fix_time(st: CityStats) -> str:
    fig, ax = _figure(6.4, 0.6 + 0.45 * max(1, len(st.median_fix_days)))
    if not st.median_fix_days:
        _empty(ax, "no case fixed yet")
        return _svg(fig, "fix-time")
    units = list(st.median_fix_days)
    vals = [st.median_fix_days[u][0] for u in units]
    bars = ax.barh(units, vals, color=[UNIT_COLOURS[i % len(UNIT_COLOURS)] for i in range(len(units))], height=0.6)
    for b, u in zip(bars, units):
        ax.text(b.get_width(), b.get_y() + b.get_height() / 2, f" {st.median_fix_days[u][0]:.1f} d (n={st.median_fix_days[u][1]})",
                va="center", fontsize=8)
    ax.set_xlabel("median days from first seen to fixed")
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.grid(axis="y", visible=False)
    ax.invert_yaxis()
    return _svg(fig, "fix-time")


def chart_overdue(st: CityStats) -> str:
    fig, ax = _figure()
    x = list(range(len(st.overdue.weeks)))
    if not st.overdue.counts:
        _empty(ax, "no cases")
        return _svg(fig, "overdue")
    for i, (u, vals) in enumerate(st.overdue.counts.items()):
        ax.plot(x, vals, marker="o", color=UNIT_COLOURS[i % len(UNIT_COLOURS)], label=u, linewidth=2)
    ax.set_xticks(x, _week_labels(st.overdue), fontsize=8, rotation=0 if len(x) < 10 else 60)
    ax.set_ylabel("overdue cases (week end)")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, frameon=False)
    return _svg(fig, "overdue")


def chart_fix_share(st: CityStats) -> str:
    fig, ax = _figure(6.4, 0.8 + 0.45 * max(1, len(st.fix_share)))
    if not st.fix_share:
        _empty(ax, "no cases")
        return _svg(fig, "fix-share")
    cats = list(st.fix_share)
    parts = (("by_flight", "fixed, confirmed by a later flight", "#067647"), ("by_person", "fixed, by a person only", "#8fd19e"),
             ("active", "still open", "#D55E00"), ("closed_other", "closed otherwise", "#bbbbbb"))
    left = [0.0] * len(cats)
    for attr, label, colour in parts:
        vals = [getattr(st.fix_share[c], attr) for c in cats]
        ax.barh([c.replace("_", " ") for c in cats], vals, left=left, color=colour, label=label, height=0.6)
        left = [a + b for a, b in zip(left, vals)]
    ax.set_xlabel("cases")
    ax.grid(axis="y", visible=False)
    ax.invert_yaxis()
    ax.legend(fontsize=8, frameon=False, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=2)
    return _svg(fig, "fix-share")


def chart_fp_rate(st: CityStats) -> str:
    fig, ax = _figure(6.4, 0.6 + 0.45 * max(1, len(st.fp_rate)))
    if not st.fp_rate:
        _empty(ax, "no reviews yet (patrol cases review, patrol serve)")
        return _svg(fig, "fp-rate")
    cats = list(st.fp_rate)
    vals = [100.0 * st.fp_rate[c].rate for c in cats]
    bars = ax.barh([c.replace("_", " ") for c in cats], vals, color=[category_colour(c) for c in cats], height=0.6)
    for b, c in zip(bars, cats):
        r = st.fp_rate[c]
        ax.text(b.get_width(), b.get_y() + b.get_height() / 2, f" {r.false_positives}/{r.reviewed}", va="center", fontsize=8)
    ax.set_xlim(0, 110)
    ax.set_xlabel("false positives among reviewed cases (%)")
    ax.grid(axis="y", visible=False)
    ax.invert_yaxis()
    return _svg(fig, "fp-rate")


CHARTS = (
    ("opened-closed", "Cases opened and closed per week", chart_opened_closed),
    ("fix-time", "Median time to fix, per unit", chart_fix_time),
    ("overdue", "Overdue cases per unit over time", chart_overdue),
    ("fix-share", "How cases were closed, per category", chart_fix_share),
    ("fp-rate", "False-positive rate per category (from reviews)", chart_fp_rate),
)


def render_stats_page(st: CityStats, overdue_days: float) -> str:
    from patrol.report.html import _csp, _env, _static

    charts = [(key, title, fn(st)) for key, title, fn in CHARTS]
    fixed = sum(s.fixed for s in st.fix_share.values())
    by_flight = sum(s.by_flight for s in st.fix_share.values())
    return _env().get_template("stats.html.j2").render(
        st=st, charts=charts, overdue_days=overdue_days, fixed=fixed, by_flight=by_flight,
        reviewed=sum(r.reviewed for r in st.fp_rate.values()),
        n_overdue=sum(v[-1] for v in st.overdue.counts.values() if v),
        css=_static("report.css") + "figure.chart{margin:0 0 18px;background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px}"
        "figure.chart svg{max-width:100%;height:auto;display:block}",
        script=READY_SCRIPT, csp=_csp(READY_SCRIPT),
    )


def write_stats_page(store: Any, out: str | Path, settings: Any = None, since: datetime | None = None,
                     now: datetime | None = None) -> Path:
    """Compute the statistics from the store and write the page to ``out``; returns its path."""
    from patrol.store.reviews import all_events, latest_reviews

    overdue_days = float(settings.cases.overdue_days) if settings is not None else 2.0
    st = city_stats(store.list_cases(), all_events(store), latest_reviews(store), now=now or datetime.now(timezone.utc),
                    overdue_days=overdue_days, since=since)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_stats_page(st, overdue_days), encoding="utf-8")
    return path
