"""``lrface report``: plots a reader of the papers expects, from one or more eval results.

Accuracy vs resolution (CR solid, ER dashed, models overlaid), cosine-distance violins at
7/14/28/56/112 px for CR and ER (Knoche Fig. 7), best threshold and mean positive/negative
distance vs resolution (Fig. 6), ROC curves; plus the tables. HTML embeds the PNGs; markdown
writes them beside the file.
"""
from __future__ import annotations

import base64
import html
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..atomic import atomic_write_bytes, atomic_write_text  # noqa: E402
from ..errors import LrfaceError  # noqa: E402
from ..metrics import roc_curve  # noqa: E402

VIOLIN_RES = ("7", "14", "28", "56", "112")


@dataclass
class Run:
    label: str
    meta: dict[str, Any]
    rows: list[dict[str, Any]]
    scores: dict[str, np.ndarray]

    def series(self, mode: str, key: str) -> tuple[np.ndarray, np.ndarray]:
        pts = sorted((float(r["resolution"]), r[key]) for r in self.rows
                     if r["mode"] == mode and r["resolution"].isdigit())
        hr = [r[key] for r in self.rows if r["mode"] == "hr"]
        if pts and hr and pts[-1][0] < 112:
            pts.append((112.0, hr[0]))  # full resolution closes every curve
        return np.array([p[0] for p in pts]), np.array([p[1] for p in pts])

    def distances(self, mode: str, res: str) -> tuple[np.ndarray, np.ndarray] | None:
        if res == "112":
            mode = "hr"
        keys = [k for k in self.scores if k.startswith(f"{mode}|{res}|")]
        if not keys:
            return None
        same = self.scores["same"].astype(bool)
        d = [1.0 - self.scores[k] for k in keys]
        return np.concatenate([x[same] for x in d]), np.concatenate([x[~same] for x in d])


def load_run(path: Path) -> Run:
    try:
        data = json.loads(path.read_text())
        with np.load(path.parent / "scores.npz") as z:
            scores = {k: z[k] for k in z.files}
        meta, rows = data["meta"], data["results"]
        label = meta.get("label") or (Path(meta["weights"]).stem if meta.get("weights") else meta["model"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise LrfaceError(f"cannot read results {path}: not an `lrface eval` results.json ({e})") from None
    return Run(str(label), meta, rows, scores)


def _png(fig: plt.Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _finish(fig: plt.Figure, ax: plt.Axes, xlabel: str, ylabel: str, title: str,
            ticks: list[int] | None = None, log_x: bool = True) -> bytes:
    """Axes with labels, grid and a legend beside the plot (never over the curves), rendered to PNG."""
    if log_x:
        ax.set_xscale("log")
    if ticks:
        ax.set_xticks(ticks, labels=[str(t) for t in ticks])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return _png(fig)


RES_TICKS = [5, 7, 10, 14, 20, 28, 40, 56, 112]


def plot_accuracy(runs: list[Run]) -> bytes:
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for i, run in enumerate(runs):
        c = f"C{i}"
        for mode, ls in (("cr", "-"), ("cr1", "-."), ("er", "--")):
            x, y = run.series(mode, "accuracy")
            if len(x):
                _, sd = run.series(mode, "accuracy_std")
                ax.plot(x, 100 * y, ls, marker="o", ms=3, color=c, label=f"{run.label} {mode.upper()}")
                ax.fill_between(x, 100 * (y - sd), 100 * (y + sd), color=c, alpha=0.12, lw=0)
    ax.axhline(50, color="grey", lw=0.8, ls=":", label="chance")
    return _finish(fig, ax, "resolution r (px of a 112 px crop)", "10-fold accuracy (%)",
                   "Verification accuracy vs resolution (band: ± fold std)", RES_TICKS)


def plot_series(runs: list[Run], keys: tuple[str, ...], title: str, ylabel: str) -> bytes:
    """Metrics ``keys`` (e.g. pos_mean and neg_mean) vs resolution, CR solid, ER dashed."""
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for i, run in enumerate(runs):
        for mode, ls in (("cr", "-"), ("er", "--")):
            for key, marker in zip(keys, "o^"):
                x, y = run.series(mode, key)
                if len(x):
                    ax.plot(x, y, ls, marker=marker, ms=4, color=f"C{i}",
                    label=f"{run.label} {mode.upper()} {key}")
    return _finish(fig, ax, "resolution r (px)", ylabel, title)


def plot_protocols(runs: list[Run]) -> bytes | None:
    """Mixed-resolution protocols (btm-stm low/mid/high/all-res): grouped bars with fold-std error bars."""
    names = sorted({r["resolution"] for run in runs for r in run.rows if not r["resolution"].isdigit()
                    and r["mode"] not in ("hr",)})
    if not names:
        return None
    fig, ax = plt.subplots(figsize=(7, 4.2))
    width = 0.8 / len(runs)
    for i, run in enumerate(runs):
        by = {r["resolution"]: r for r in run.rows if r["resolution"] in names}
        xs = [j for j, n in enumerate(names) if n in by]
        ax.bar(np.array(xs) - 0.4 + width * (i + 0.5), [100 * by[names[j]]["accuracy"] for j in xs], width,
               yerr=[100 * by[names[j]]["accuracy_std"] for j in xs], capsize=3, color=f"C{i}", label=run.label)
    ax.axhline(50, color="grey", lw=0.8, ls=":", label="chance")
    ax.set_xticks(range(len(names)), labels=names, rotation=20)
    ax.set_ylim(40, 100)
    return _finish(fig, ax, "protocol", "10-fold accuracy (%)", "Mixed-resolution protocols (error bars: fold std)",
                   log_x=False)


def plot_violins(run: Run) -> bytes | None:
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    drew = False
    for ax, mode in zip(axes, ("cr", "er")):
        pos_data, neg_data, xs = [], [], []
        for j, res in enumerate(VIOLIN_RES):
            d = run.distances(mode, res)
            if d is None:
                continue
            pos_data.append(d[0])
            neg_data.append(d[1])
            xs.append(j)
        if not xs:
            continue
        drew = True
        for data, off, color in ((pos_data, -0.18, "C0"), (neg_data, 0.18, "C1")):
            parts = ax.violinplot(data, positions=np.array(xs) + off, widths=0.34, showmedians=True)
            for b in parts["bodies"]:  # type: ignore[union-attr]
                b.set_facecolor(color)
                b.set_alpha(0.6)
        ax.set_xticks(range(len(VIOLIN_RES)), labels=[f"{r} px" for r in VIOLIN_RES])
        ax.set_title(f"{run.label}: {mode.upper()} cosine distance (blue same, orange different)", fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("cosine distance 1 - cos")
    if not drew:
        plt.close(fig)
        return None
    return _png(fig)


def plot_roc(runs: list[Run]) -> bytes:
    fig, ax = plt.subplots(figsize=(6, 4.5))
    styles = {"112": "-", "28": "--", "14": "-.", "7": ":"}
    for i, run in enumerate(runs):
        for res, ls in styles.items():
            mode = "hr" if res == "112" else "cr"
            keys = [k for k in run.scores if k.startswith(f"{mode}|{res}|")]
            if not keys:
                continue
            fpr, tpr, _ = roc_curve(run.scores[keys[0]], run.scores["same"].astype(bool))
            what = "HR" if res == "112" else f"CR {res} px"
            ax.plot(np.maximum(fpr, 1e-4), tpr, ls, color=f"C{i}", label=f"{run.label} {what}")
    ax.set_xlim(1e-4, 1)
    return _finish(fig, ax, "false accept rate", "true accept rate", "ROC")


def results_table(run: Run) -> list[list[str]]:
    head = ["mode", "res", "acc %", "±", "best thr", "TAR@1e-1", "TAR@1e-2", "TAR@1e-3", "AUC", "EER %", "d+", "d-"]
    rows = [head]
    for r in run.rows:
        t = r["tar"]
        rows.append([r["mode"], r["resolution"], f"{100 * r['accuracy']:.2f}", f"{100 * r['accuracy_std']:.2f}",
                     f"{r['best_threshold']:.4f}", f"{100 * t['0.1']:.2f}", f"{100 * t['0.01']:.2f}",
                     f"{100 * t['0.001']:.2f}", f"{r['auc']:.4f}", f"{100 * r['eer']:.2f}",
                     f"{r['pos_mean']:.3f}", f"{r['neg_mean']:.3f}"])
    return rows


def provenance(run: Run) -> str:
    """One line: how the result was made (command, lrface version, date, weights sha256)."""
    m = run.meta
    sha = m.get("weights_sha256") or m.get("model_id")
    return (f"command: {m.get('command', 'not recorded')}; lrface {m.get('version', '?')}; {m.get('date', '?')}; "
            f"weights {str(sha)[:16] if sha else '?'}")


def write_report(results: list[Path], out: Path, labels: list[str] | None = None) -> Path:
    runs = [load_run(p) for p in results]
    for run, label in zip(runs, labels or []):
        run.label = label
    figs: list[tuple[str, bytes]] = [
        ("Accuracy vs resolution", plot_accuracy(runs)),
        ("Best threshold vs resolution", plot_series(runs, ("best_threshold",), "Best threshold (cosine similarity)",
                                                     "threshold")),
        ("Mean distances vs resolution", plot_series(runs, ("pos_mean", "neg_mean"),
                                                     "Mean cosine distance: same (o) / different (^)", "1 - cos")),
        ("ROC", plot_roc(runs)),
    ]
    bars = plot_protocols(runs)
    if bars is not None:
        figs.insert(1, ("Mixed-resolution protocols", bars))
    for run in runs:
        v = plot_violins(run)
        if v is not None:
            figs.append((f"Distance distributions: {run.label}", v))
    title = "lrface cross-resolution report"
    if out.suffix == ".md":
        parts = [f"# {title}\n"]
        for i, (name, png) in enumerate(figs):
            png_path = out.with_name(f"{out.stem}_fig{i}.png")
            atomic_write_bytes(png_path, png)
            parts.append(f"## {name}\n\n![{name}]({png_path.name})\n")
        for run in runs:
            t = results_table(run)
            parts.append(f"## {run.label} on {run.meta['dataset']}\n\n{provenance(run)}\n")
            parts.append("| " + " | ".join(t[0]) + " |\n|" + "---|" * len(t[0]))
            parts += ["| " + " | ".join(r) + " |" for r in t[1:]]
            parts.append("")
        atomic_write_text(out, "\n".join(parts) + "\n")
        return out
    body = [f"<h1>{title}</h1>"]
    for name, png in figs:
        body.append(f"<h2>{html.escape(name)}</h2><img src='data:image/png;base64,{base64.b64encode(png).decode()}'>")
    for run in runs:
        t = results_table(run)
        m = run.meta
        body.append(f"<h2>{html.escape(run.label)} on {html.escape(str(m['dataset']))}</h2>"
                    f"<p>kernel {html.escape(str(m.get('kernel')))}, antialias {m.get('antialias')}, "
                    f"flip {html.escape(str(m.get('flip')))}, model id {html.escape(str(m.get('model_id')))}</p>"
                    f"<p><small>{html.escape(provenance(run))}</small></p>")
        body.append("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in t[0]) + "</tr>"
                    + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in t[1:])
                    + "</table>")
    style = ("<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse;"
             "font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}img{max-width:100%}</style>")
    atomic_write_text(out, f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>{style}</head>"
                           f"<body>{''.join(body)}</body></html>")
    return out


def plot_det(curves: dict[str, dict[str, list[float]]], title: str) -> bytes:
    """DET curves (FNIR against FPIR, log-log), one per probe condition."""
    fig, ax = plt.subplots(figsize=(7, 4.6))
    for i, (name, c) in enumerate(curves.items()):
        x, y = np.asarray(c["fpir"]), np.asarray(c["fnir"])
        keep = x > 0
        ax.plot(x[keep], np.maximum(y[keep], 1e-3), label=name, color=f"C{i % 10}",
                ls="-" if i < 10 else "--")
    ax.set_yscale("log")
    ax.axvline(0.01, color="grey", lw=0.8, ls=":")
    return _finish(fig, ax, "FPIR (strangers named)", "FNIR (enrolled people missed)", title)


def write_openset_report(result: dict[str, Any], out: Path) -> Path:
    """HTML page of an ``lrface eval-openset`` result: the table and the DET curves."""
    conds = result["conditions"]
    head = ["probes", "median r_eff", "rank-1 %", "FNIR@FPIR1% %", "FNIR@FPIR0.1% %", "default FPIR %",
            "default FNIR %", "wrong name %", "cannot decide %"]
    rows = [[name, f"{c['r_eff_median']:.1f}", f"{100 * c['rank1']:.1f}", f"{100 * c['FNIR@FPIR1%']:.1f}",
             f"{100 * c['FNIR@FPIR0.1%']:.1f}", f"{100 * c['default_FPIR']:.2f}", f"{100 * c['default_FNIR']:.1f}",
             f"{100 * c['default_wrong_name']:.2f}", f"{100 * c['cannot_decide']:.1f}"] for name, c in conds.items()]
    png = plot_det({k: v["det"] for k, v in conds.items()}, "Open-set 1:N on LFW View 1 peopleDevTest")
    meta = html.escape(f"model {result.get('model')}; gallery {result['gallery']} identities (one HR photo each); "
                       f"{result['mated']} mated and {result['non_mated']} non-mated probes per condition; "
                       f"default decision FPIR {result.get('fpir')}; command: {result.get('command', '?')}")
    table = ("<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"
             + "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
             + "</table>")
    style = ("<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse;"
             "font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}img{max-width:100%}</style>")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>lrface open-set report</title>{style}</head>"
            f"<body><h1>Open-set identification (1:N)</h1><p>{meta}</p>{table}<h2>DET curves</h2>"
            f"<img src='data:image/png;base64,{base64.b64encode(png).decode()}'></body></html>")
    atomic_write_text(out, page)
    return out
