"""Results as people read them: tables (terminal and markdown) and mIoU plots (PNG)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

Column = Tuple[str, str]

_TAIL: List[Column] = [("samples", "samples"), ("wall_s", "wall s")]
_PERCENTILES: List[Column] = [("seconds_p50", "p50 s"), ("seconds_p95", "p95 s"), ("seconds_max", "max s"),
                              ("cpu_p50", "CPU p50 s"), ("cpu_p95", "CPU p95 s"), ("cpu_max", "CPU max s")]
_MIOU: List[Column] = [(f"mIoU@{k}", f"mIoU@{k}") for k in (1, 2, 3, 5, 10, 20)]
COLUMNS: Dict[str, List[Column]] = {
    "clicks": [("NoC80", "NoC80"), ("NoC85", "NoC85"), ("NoC90", "NoC90"), ("NoF85", "NoF85"), ("NoF90", "NoF90")]
              + _MIOU + [("first_fail", "1st IoU<0.05"), ("worse", "worse>0.1"), ("seconds_per_click", "s/click")]
              + _PERCENTILES + _TAIL + [("NoC90_ratio", "NoC90 ÷ baseline")],
    "scribbles": [("NoS85", "NoS85"), ("NoS90", "NoS90"), ("NoF85", "NoF85"), ("NoF90", "NoF90")]
                 + _MIOU + [("first_fail", "1st IoU<0.05"), ("worse", "worse>0.1"),
                            ("seconds_per_scribble", "s/scribble")] + _PERCENTILES + _TAIL,
    "box": [("mIoU", "mIoU"), ("empty", "empty"), ("seconds_per_box", "s/box")] + _PERCENTILES + _TAIL,
    "coarse": [(f"{kind}@L{level}", f"{kind} L{level}") for level in range(1, 6) for kind in ("coarse", "refined")]
              + [("empty", "empty"), ("seconds_per_mask", "s/mask")] + _PERCENTILES + _TAIL,
    "correction": [("initial_mIoU", "initial mIoU"), ("NoC85", "NoC85"), ("NoC90", "NoC90"), ("NoF85", "NoF85"),
                   ("NoF90", "NoF90")] + _MIOU + [("worse", "worse>0.1"), ("seconds_per_click", "s/click")]
                  + _PERCENTILES + _TAIL,
}
INTERACTIVE = {"clicks": "clicks", "scribbles": "scribbles", "correction": "clicks from the initial mask"}


def table_rows(results: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Summary rows for :func:`format_table`; NoC90 relative to the last result (the baseline)."""
    rows = [{"method": r["method"], "dataset": _dataset_name(r.get("dataset", "")), **r["summary"]} for r in results]
    if len(rows) > 1 and rows[-1].get("NoC90"):
        for row in rows:
            if row.get("NoC90") is not None:
                row["NoC90_ratio"] = row["NoC90"] / rows[-1]["NoC90"]
    return rows


def format_table(rows: Sequence[Dict[str, Any]], protocol: str = "clicks") -> str:
    """A markdown table (also readable in a terminal) of summary rows with a ``method`` key."""
    columns = [("method", "method")] + ([("dataset", "dataset")] if any(r.get("dataset") for r in rows) else [])
    columns += [(key, title) for key, title in COLUMNS[protocol]
                if not _optional(key) or any(r.get(key) is not None for r in rows)]
    header = [title for _, title in columns]
    body = [[_cell(key, row.get(key)) for key, _ in columns] for row in rows]
    widths = [max(len(line[i]) for line in [header] + body) for i in range(len(header))]
    render = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([render(header), rule] + [render(line) for line in body])


def _optional(key: str) -> bool:
    """Columns shown only when some row has a value: mIoU@k past the early stop, the baseline ratio,
    figures older results lack."""
    return key.startswith(("mIoU@", "seconds_")) or key in ("NoC90_ratio", "first_fail", "worse", "empty")


def markdown_report(results: Sequence[Dict[str, Any]]) -> str:
    """One table per protocol (rows: dataset x method), in the order the protocols were run."""
    sections = []
    for protocol in dict.fromkeys(r["protocol"] for r in results):
        chosen = [r for r in results if r["protocol"] == protocol]
        sections.append(f"### {protocol}\n\n{format_table(_rows_per_dataset(chosen), protocol)}\n")
    return "\n".join(sections)


def _rows_per_dataset(results: Sequence[Dict[str, Any]]) -> List[Dict[str, Any]]:
    rows: List[Dict[str, Any]] = []
    for dataset in dict.fromkeys(r["dataset"] for r in results):
        rows += table_rows([r for r in results if r["dataset"] == dataset])
    return rows


def miou_curve(result: Dict[str, Any]) -> List[float]:
    """mIoU after 1, 2, ... rounds, as far as every sample has a recorded IoU."""
    runs = list(result["samples"].values())
    depth = min(len(ious) for ious in runs)
    return [sum(ious[k] for ious in runs) / len(runs) for k in range(depth)]


def write_plots(results: Sequence[Dict[str, Any]], folder: str | Path) -> List[Path]:
    """PNG plots, one per dataset and protocol: mIoU against the number of clicks /
    scribbles (one line per method), and refined against coarse mIoU for coarse masks."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot
    from matplotlib.ticker import MaxNLocator

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    groups: Dict[Tuple[str, str], List[Dict[str, Any]]] = {}
    for result in results:
        if result["protocol"] in INTERACTIVE or result["protocol"] == "coarse":
            groups.setdefault((result["dataset"], result["protocol"]), []).append(result)
    for (dataset, protocol), chosen in groups.items():
        figure, axes = pyplot.subplots(figsize=(6, 4), dpi=120)
        if protocol == "coarse":
            _plot_coarse(axes, chosen)
        else:
            for result in chosen:
                curve = miou_curve(result)
                rounds = list(range(1, len(curve) + 1))
                if "initial_iou" in result:           # correction: the initial mask is round 0
                    rounds, curve = [0] + rounds, [result["summary"]["initial_mIoU"]] + curve
                axes.plot(rounds, curve, marker="o", markersize=3, label=result["method"])
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
            axes.set_xlabel(f"number of {INTERACTIVE[protocol]}")
            axes.set_ylabel("mIoU")
        axes.set_title(f"{_dataset_name(dataset)}: {protocol}")
        axes.grid(alpha=0.3)
        axes.legend()
        figure.tight_layout()
        path = folder / f"{_slug(_dataset_name(dataset))}_{protocol}.png"
        figure.savefig(path)
        pyplot.close(figure)
        written.append(path)
    return written


def _plot_coarse(axes: Any, results: Sequence[Dict[str, Any]]) -> None:
    for result in results:
        levels = range(1, 6)
        coarse = [result["summary"][f"coarse@L{k}"] for k in levels]
        refined = [result["summary"][f"refined@L{k}"] for k in levels]
        axes.plot(coarse, refined, marker="o", label=result["method"])
    axes.plot([0.4, 1.0], [0.4, 1.0], linestyle="--", color="grey", label="no change")
    axes.set_xlabel("coarse mask mIoU")
    axes.set_ylabel("refined mIoU")


def _dataset_name(dataset: str) -> str:
    return Path(str(dataset)).name or str(dataset)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def _cell(key: str, value: Any) -> str:
    if value is None:
        return "–"
    if key in ("method", "dataset"):
        return str(value)
    if key.startswith("NoF") or key in ("samples", "worse", "empty"):
        return str(int(value))
    if key.startswith(("mIoU", "coarse@", "refined@", "initial_mIoU")) or key == "mIoU":
        return f"{value:.3f}"
    if key == "first_fail":
        return f"{100 * value:.1f}%"
    if key.startswith("seconds_"):
        return f"{value:.3f}"
    if key == "wall_s":
        return f"{value:.0f}"
    return f"{value:.2f}"
