"""Plots and markdown tables for bench/labelEfficiency.ts results: `python plots.py RESULTS_DIR`.

Reads compare.json, al-curves.json, evaluation.json, speed.json, summary.json (whichever exist) and
writes PNGs plus tables.md into RESULTS_DIR. matplotlib (Agg backend), no network.
"""
import json
import math
import os
import statistics
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

OUT = sys.argv[1]
T95 = {1: 12.71, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262}


def load(name):
    path = os.path.join(OUT, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def interval(values):
    m = statistics.fmean(values)
    if len(values) < 2:
        return m, m, m
    half = T95.get(len(values) - 1, 1.96) * statistics.stdev(values) / math.sqrt(len(values))
    return m, m - half, m + half


tables = []
compare = load("compare")
if compare:
    datasets = sorted({r["dataset"] for r in compare})
    fig, axes = plt.subplots(2, len(datasets), figsize=(6 * len(datasets), 8), squeeze=False)
    for col, ds in enumerate(datasets):
        rows = [r for r in compare if r["dataset"] == ds]
        models = sorted({r["model"] for r in rows}, key=lambda m: (m != "default", m))
        sizes = sorted({r["n"] for r in rows})
        header = "| model | " + " | ".join(str(n) for n in sizes) + " |"
        for metric_row, metric in enumerate(["accuracy", "macroF1"]):
            ax = axes[metric_row][col]
            lines = [f"\n**{ds}: {metric}** (mean over seeds; 'all' = one run)\n", header, "|" + "---|" * (len(sizes) + 1)]
            for m in models:
                xs, ys, lo, hi, cells = [], [], [], [], []
                for n in sizes:
                    vals = [r[metric] for r in rows if r["model"] == m and r["n"] == n]
                    if not vals:
                        cells.append("")
                        continue
                    mean, low, high = interval(vals)
                    xs.append(n), ys.append(mean), lo.append(low), hi.append(high)
                    cells.append(f"{mean:.4f}")
                label = "ours (default)" if m == "default" else m
                ax.plot(xs, ys, marker="o", label=label, linewidth=2.5 if m == "default" else 1.2)
                ax.fill_between(xs, lo, hi, alpha=0.15)
                lines.append(f"| {label} | " + " | ".join(cells) + " |")
            ax.set_xscale("log")
            ax.set_xlabel("labelled examples (random)")
            ax.set_ylabel(metric)
            ax.set_title(f"{ds}: {metric} vs labels (95% CI over seeds)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=8)
            tables.extend(lines)
    fig.tight_layout()
    fig.savefig(os.path.join(OUT, "model-comparison.png"), dpi=90)
    plt.close(fig)

curves = load("al-curves")
if curves:
    datasets = sorted({r["dataset"] for r in curves})
    fig, axes = plt.subplots(2, len(datasets), figsize=(7 * len(datasets), 9), squeeze=False)
    for col, ds in enumerate(datasets):
        rows = [r for r in curves if r["dataset"] == ds]
        runs = sorted({r["run"] for r in rows}, key=lambda r: (r != "random", r))
        for metric_row, metric in enumerate(["accuracy", "macroF1"]):
            ax = axes[metric_row][col]
            for run in runs:
                pts = sorted((r for r in rows if r["run"] == run), key=lambda r: r["labels"])
                xs = [p["labels"] for p in pts]
                ax.plot(xs, [p[metric] for p in pts], label=run, linewidth=2.5 if run in ("random", "hybrid50") else 1.2,
                        linestyle="--" if run.startswith("sklearn") else "-")
                ax.fill_between(xs, [p[metric + "Low"] for p in pts], [p[metric + "High"] for p in pts], alpha=0.12)
            ax.set_xlabel("labels")
            ax.set_ylabel(metric)
            ax.set_title(f"{ds}: active learning, {metric} (95% CI over seeds)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(os.path.join(OUT, "learning-curves.png"), dpi=90)
    plt.close(fig)
    for ds in datasets:
        rows = [r for r in curves if r["dataset"] == ds]
        runs = sorted({r["run"] for r in rows}, key=lambda r: (r != "random", r))
        marks = [50, 100, 150, 200, 300, 400, 500]
        tables.append(f"\n**{ds}: active-learning accuracy (mean over seeds) at selected label counts**\n")
        tables.append("| strategy | " + " | ".join(str(m) for m in marks) + " |")
        tables.append("|" + "---|" * (len(marks) + 1))
        for run in runs:
            cells = []
            for m in marks:
                p = [r for r in rows if r["run"] == run and r["labels"] == m]
                cells.append(f"{p[0]['accuracy']:.4f}" if p else "")
            tables.append(f"| {run} | " + " | ".join(cells) + " |")

evaluation = load("evaluation")
if evaluation:
    datasets = sorted({r["dataset"] for r in evaluation})
    fig, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 4.5), squeeze=False)
    for col, ds in enumerate(datasets):
        ax = axes[0][col]
        rows = [r for r in evaluation if r["dataset"] == ds]
        for key, truth, label in [("holdout20", "true80", "20% hold-out of AL labels (current)"), ("kfold", "trueAll", "5-fold CV, all labels"), ("kfoldAudit", "trueAll", "5-fold CV on random audit picks")]:
            by = defaultdict(list)
            for r in rows:
                by[r["labels"]].append(r[key] - r[truth])
            xs = sorted(by)
            stats = [interval(by[x]) for x in xs]
            ax.errorbar(xs, [s[0] for s in stats], yerr=[[s[0] - s[1] for s in stats], [s[2] - s[0] for s in stats]], marker="o", capsize=3, label=label)
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xlabel("labels")
        ax.set_ylabel("estimate − true test accuracy")
        ax.set_title(f"{ds}: accuracy estimates (hybrid50 runs)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(OUT, "evaluation-design.png"), dpi=90)
    plt.close(fig)

speed = load("speed")
if speed:
    fig, ax = plt.subplots(figsize=(8, 4.5))
    labels, values, colors = [], [], []
    for r in speed:
        for what in ("train", "predict"):
            labels.append(f"{r['dataset']}\n{r['model'].replace('sklearn ', 'sk ')}\n{what}")
            values.append(r[what + "CpuSeconds"])
            colors.append("tab:blue" if r["model"] == "ours" else "tab:orange")
    ax.bar(range(len(values)), values, color=colors)
    ax.set_xticks(range(len(values)), labels, fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("CPU seconds (median)")
    ax.set_title("train 2,000 labels / predict 10,000 tasks")
    fig.tight_layout()
    fig.savefig(os.path.join(OUT, "speed.png"), dpi=90)
    plt.close(fig)
    tables.append("\n**Speed: train 2,000 / predict 10,000 (medians; CPU = process CPU time)**\n")
    tables.append("| data set | model | train wall s | train CPU s | predict wall s | predict CPU s |")
    tables.append("|---|---|---|---|---|---|")
    for r in speed:
        tables.append(f"| {r['dataset']} | {r['model']} | {r['trainSeconds']:.2f} | {r['trainCpuSeconds']:.2f} | {r['predictSeconds']:.2f} | {r['predictCpuSeconds']:.2f} |")

if compare:
    tables.append("\n**Ours vs the best baseline at each label count** (accuracy, mean over seeds; best of ls_example, lr_cv, svm, cnb)\n")
    tables.append("| data set | labels | ours | best baseline | Δ (points) | ours ECE |")
    tables.append("|---|---|---|---|---|---|")
    for ds in sorted({r["dataset"] for r in compare}):
        for n in sorted({r["n"] for r in compare if r["dataset"] == ds}):
            mine = [r for r in compare if r["dataset"] == ds and r["n"] == n and r["model"] == "default"]
            if not mine:
                continue
            base = {}
            for r in compare:
                if r["dataset"] == ds and r["n"] == n and r["model"] != "default":
                    base.setdefault(r["model"], []).append(r["accuracy"])
            if not base:
                continue
            best_model, best_vals = max(base.items(), key=lambda kv: statistics.fmean(kv[1]))
            ours = statistics.fmean(r["accuracy"] for r in mine)
            ece = statistics.fmean(r.get("ece", float("nan")) for r in mine)
            tables.append(f"| {ds} | {n} | {ours:.4f} | {statistics.fmean(best_vals):.4f} ({best_model}) | {100 * (ours - statistics.fmean(best_vals)):+.2f} | {ece:.3f} |")

summary = load("summary")
if summary and summary.get("labelsToReachRandomAtBudget"):
    reach = summary["labelsToReachRandomAtBudget"]
    budget = reach["budget"]
    runs = [k for k in next(v for k, v in reach.items() if k != "budget") if k != "randomAccuracyAtBudget"]
    tables.append(f"\n**Labels each strategy needs to reach random's accuracy at {budget} labels** (mean curves over seeds, interpolated; '>' = not reached)\n")
    tables.append("| data set | random@" + str(budget) + " | " + " | ".join(runs) + " |")
    tables.append("|" + "---|" * (len(runs) + 2))
    for ds, row in reach.items():
        if ds == "budget":
            continue
        cells = [str(row[r]) if row[r] is not None else f">{budget}" for r in runs]
        tables.append(f"| {ds} | {row['randomAccuracyAtBudget']:.4f} | " + " | ".join(cells) + " |")

with open(os.path.join(OUT, "tables.md"), "w") as f:
    f.write("\n".join(tables) + "\n")
print("plots written to", OUT)
