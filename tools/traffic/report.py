"""What a scenario showed: one line of figures beside the goals, a JSON file, a PNG timeline."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from finlex_release.probe import Figures, Sample, figures
from traffic.scenarios import Result

BUCKET = 0.1  # seconds per bar of the timeline


@dataclass(frozen=True)
class Goals:
    """Issue 17's goals for scenarios 1-6 at 200 requests/s."""

    failed: int = 0
    max_gap: float = 0.250
    p99: float = 0.050


GOALS = Goals()


@dataclass(frozen=True)
class Verdict:
    result: Result
    figures: Figures
    # For a scenario that cannot be lossless (SIGKILL): first failure to last.
    loss_window: float

    @property
    def passed(self) -> bool:
        if not self.result.goals_apply:
            return True
        f = self.figures
        return f.failed <= GOALS.failed and f.max_gap <= GOALS.max_gap and f.p99 <= GOALS.p99

    @property
    def name(self) -> str:
        control = f" [{self.result.control}]" if self.result.control else ""
        return self.result.scenario + control


def verdict(result: Result) -> Verdict:
    failed = [s for s in result.samples if not s.ok]
    window = (max(s.done for s in failed) - min(s.due for s in failed)) if failed else 0.0
    return Verdict(result, figures(result.samples), window)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def line(v: Verdict) -> str:
    """One line of figures; beside each its goal and whether it was met."""
    f = v.figures
    head = f"{v.name:<32} sent {f.sent:>5}"
    notes = "; ".join(f"{k}: {val}" for k, val in v.result.notes.items())
    if not v.result.goals_apply:
        return (
            f"{head}  failed {f.failed:>4}  loss window {v.loss_window:.2f} s"
            f"  longest gap {_ms(f.max_gap)}  ({notes})"
        )

    def mark(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    return (
        f"{head}  failed {f.failed:>4} (goal {GOALS.failed}, {mark(f.failed <= GOALS.failed)})"
        f"  longest gap {_ms(f.max_gap):>7} (goal <= {_ms(GOALS.max_gap)}, "
        f"{mark(f.max_gap <= GOALS.max_gap)})"
        f"  p99 {_ms(f.p99):>6} (goal <= {_ms(GOALS.p99)}, {mark(f.p99 <= GOALS.p99)})"
        + (f"  ({notes})" if notes else "")
    )


def buckets(samples: Sequence[Sample], began: float) -> list[dict[str, float]]:
    """Successes, failures and the worst latency per BUCKET seconds, from `began`."""
    if not samples:
        return []
    count = int((max(s.due for s in samples) - began) / BUCKET) + 1
    rows = [{"t": round(i * BUCKET, 1), "ok": 0, "failed": 0, "max_ms": 0.0} for i in range(count)]
    for sample in samples:
        row = rows[max(0, int((sample.due - began) / BUCKET))]
        row["ok" if sample.ok else "failed"] += 1
        row["max_ms"] = max(row["max_ms"], round(sample.latency * 1000, 2))
    return rows


def as_json(v: Verdict) -> dict[str, Any]:
    r = v.result
    return {
        "scenario": r.scenario,
        "title": r.title,
        "control": r.control or None,
        "rate": r.rate,
        "figures": asdict(v.figures),
        "loss_window": v.loss_window,
        "goals": asdict(GOALS) if r.goals_apply else None,
        "passed": v.passed if r.goals_apply else None,
        "notes": {k: str(val) for k, val in r.notes.items()},
        "events": [
            {"t": round(e.at - r.began, 3), "task": e.task, "what": e.what} for e in r.events
        ],
        "per_100ms": buckets(r.samples, r.began),
    }


def write_json(verdicts: Sequence[Verdict], path: Path, header: dict[str, Any]) -> None:
    path.write_text(
        json.dumps({**header, "scenarios": [as_json(v) for v in verdicts]}, indent=1) + "\n"
    )


def markdown(verdicts: Sequence[Verdict]) -> str:
    """The run as a Markdown table: one row per scenario, figures beside the goals."""
    rows = [
        "| scenario | control | requests | failed | longest gap | p99 | notes |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for v in verdicts:
        f, r = v.figures, v.result
        notes = "; ".join(f"{key}: {value}" for key, value in r.notes.items())
        if not r.goals_apply:
            notes = f"loss window {v.loss_window:.2f} s; {notes}"
        rows.append(
            f"| {r.scenario} | {r.control or '-'} | {f.sent} | {f.failed} | {_ms(f.max_gap)} "
            f"| {_ms(f.p99)} | {notes} |"
        )
    return "\n".join(rows) + "\n"


# Lifecycle events drawn on the timeline, and their colours.
_MARKS = {
    "serving": "lightgray",
    "started": "tab:blue",
    "registered": "tab:cyan",
    "target UP": "tab:green",
    "container healthy": "olive",
    "health fault": "tab:pink",
    "container unhealthy": "tab:pink",
    "draining": "tab:orange",
    "target DRAIN": "tab:orange",
    "deregistered": "tab:brown",
    "SIGTERM": "tab:red",
    "SIGKILL": "black",
    "target DOWN": "tab:gray",
    "exited": "tab:purple",
    "unhealthy: stopped": "tab:red",
}


def timeline(v: Verdict, path: Path) -> None:
    """A PNG: requests per 100 ms (ok and failed), latency, and each task's lifecycle."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    r = v.result
    rows = buckets(r.samples, r.began)
    tasks = sorted({e.task for e in r.events}, key=lambda name: int(name.rsplit("-", 1)[-1]))
    figure, (traffic, latency, life) = plt.subplots(
        3, 1, sharex=True, figsize=(11, 7.5),
        gridspec_kw={"height_ratios": [2, 2, max(1.5, 0.45 * len(tasks))]},
    )  # fmt: skip
    times = [row["t"] for row in rows]
    traffic.bar(times, [row["ok"] for row in rows], width=BUCKET, align="edge",
                color="tab:green", label="succeeded")  # fmt: skip
    traffic.bar(times, [row["failed"] for row in rows], width=BUCKET, align="edge",
                bottom=[row["ok"] for row in rows], color="tab:red", label="failed")  # fmt: skip
    traffic.set_ylabel("requests / 100 ms")
    traffic.legend(loc="lower left", fontsize=8)
    f = v.figures
    control = f" - control: {r.control}" if r.control else ""
    traffic.set_title(
        f"{r.title}{control}\n{f.sent} requests at {r.rate:g}/s, {f.failed} failed, "
        f"longest gap {_ms(f.max_gap)}, p99 {_ms(f.p99)}",
        fontsize=10,
    )
    ok = [s for s in r.samples if s.ok]
    bad = [s for s in r.samples if not s.ok]
    latency.scatter([s.due - r.began for s in ok], [s.latency * 1000 for s in ok], s=2,
                    color="tab:green")  # fmt: skip
    latency.scatter([s.due - r.began for s in bad], [s.latency * 1000 for s in bad], s=6,
                    color="tab:red", marker="x")  # fmt: skip
    latency.axhline(GOALS.p99 * 1000, color="gray", linestyle="--", linewidth=0.8)
    latency.set_yscale("log")
    latency.set_ylabel("latency (ms)")
    for row, task in enumerate(tasks):
        own = [e for e in r.events if e.task == task]
        life.hlines(row, own[0].at - r.began, own[-1].at - r.began, color="lightgray")
        for event in own:
            colour = _MARKS.get(event.what)
            if colour:
                life.plot(event.at - r.began, row, "o", color=colour, markersize=5)
    life.set_yticks(range(len(tasks)), [t.rsplit("-", 1)[-1] for t in tasks])
    life.set_ylabel("task")
    life.set_xlabel("seconds since the load started")
    handles = [
        Line2D([], [], marker="o", linestyle="", color=c, label=n) for n, c in _MARKS.items()
    ]
    life.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)
