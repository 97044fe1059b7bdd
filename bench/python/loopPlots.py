"""Plots for bench/loopEfficiency.ts: `python loopPlots.py RESULTS_DIR`.

Reads loop-summary.json (curves: mean and 95 % t-interval over seeds) and writes
loop-served-vs-offline.png (per data set and strategy: the served champion and the same classifier
trained offline on the same labels) and loop-strategies.png (per data set: every strategy's served
accuracy, with random's accuracy at the budget as a line). matplotlib (Agg backend), no network.
"""
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

OUT = sys.argv[1]
with open(os.path.join(OUT, "loop-summary.json")) as f:
    summary = json.load(f)
curves = summary["curves"]
datasets = [d for d in summary["datasets"] if any(c["dataset"] == d for c in curves)]
strategies = [s for s in summary["strategies"] if any(c["strategy"] == s for c in curves)]
note = "" if summary["complete"] else f" (PARTIAL: {summary['runsDone']} of {summary['runsPlanned']} runs)"


def series(dataset, strategy):
    return sorted((c for c in curves if c["dataset"] == dataset and c["strategy"] == strategy), key=lambda c: c["labels"])


fig, axes = plt.subplots(len(datasets), len(strategies), figsize=(4.2 * len(strategies), 3.4 * len(datasets)), squeeze=False)
for i, dataset in enumerate(datasets):
    for j, strategy in enumerate(strategies):
        ax = axes[i][j]
        s = series(dataset, strategy)
        if not s:
            ax.set_visible(False)
            continue
        x = [c["labels"] for c in s]
        for key, label, style in (("served", "served through the loop", "-"), ("offline", "same labels, offline", "--")):
            ax.plot(x, [c[key] for c in s], style, marker="o", ms=3, label=label)
            ax.fill_between(x, [c[key + "Low"] for c in s], [c[key + "High"] for c in s], alpha=0.2)
        est = [(c["labels"], c["estimate"]) for c in s if c.get("estimate") is not None]
        if est:
            ax.plot([e[0] for e in est], [e[1] for e in est], ":", color="grey", label="round's own estimate")
        ax.set_title(f"{dataset} · {strategy} ({s[0]['seeds']} seeds)", fontsize=9)
        ax.set_xlabel("labels")
        ax.set_ylabel("hidden-test accuracy")
        ax.grid(alpha=0.3)
        if i == 0 and j == 0:
            ax.legend(fontsize=7, loc="lower right")
fig.suptitle("Served champion vs the same classifier trained offline, mean ± 95 % t-interval over seeds" + note, fontsize=10)
fig.tight_layout()
fig.savefig(os.path.join(OUT, "loop-served-vs-offline.png"), dpi=90)

fig, axes = plt.subplots(1, len(datasets), figsize=(5.5 * len(datasets), 3.8), squeeze=False)
for i, dataset in enumerate(datasets):
    ax = axes[0][i]
    for strategy in strategies:
        s = series(dataset, strategy)
        if not s:
            continue
        x = [c["labels"] for c in s]
        ax.plot(x, [c["served"] for c in s], marker="o", ms=3, label=strategy)
        ax.fill_between(x, [c["servedLow"] for c in s], [c["servedHigh"] for c in s], alpha=0.15)
    target = summary["labelsToReachRandomAtBudget"].get(dataset, {}).get("randomServedAccuracyAtBudget")
    if target is not None:
        ax.axhline(target, color="grey", lw=0.8, ls="--", label=f"random @ {max(summary['checkpoints'])}")
    ax.set_title(f"{dataset}: served accuracy through the loop", fontsize=9)
    ax.set_xlabel("labels")
    ax.set_ylabel("hidden-test accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
fig.suptitle("Strategies through the real loop, mean ± 95 % t-interval over seeds" + note, fontsize=10)
fig.tight_layout()
fig.savefig(os.path.join(OUT, "loop-strategies.png"), dpi=90)
