"""Classical scikit-learn baselines for the Label Loop benchmarks (bench/labelEfficiency.ts runs this).

Reads one JSON job file (argv[1]) and writes one JSON result file (argv[2]).

Job file: {"mode": "curves" | "speed", "labels": [...], "texts": [...], "y": [...class index...],
           "test": [...indices...], "jobs": [{"key": str, "train": [...indices...]}], "models": [...],
           "runs": int, "trainIdx": [...], "predictIdx": [...]}

Models (all fitted on the training texts only, as their authors ship them):
  ls_example  label-studio-ml-backend's sklearn_text_classifier example: TfidfVectorizer(ngram_range=(1, 3),
              token_pattern=r"(?u)\\b\\w\\w+\\b|\\w") + LogisticRegression(C=10)
  lr_cv       TF-IDF 1-2-grams, sublinear tf + LogisticRegression, C chosen by 3-fold CV from
              {1, 10, 100} (accuracy; a wider grid never won in trial runs and cost 2x), class_weight="balanced"
  svm         TF-IDF 1-2-grams, sublinear tf + LinearSVC(C=1)
  cnb         TF-IDF 1-2-grams, sublinear tf + ComplementNB, alpha chosen by 3-fold CV from
              {0.01, 0.03, 0.1, 0.3, 1}
"""
import json
import statistics
import sys
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold
from sklearn.naive_bayes import ComplementNB
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC

warnings.filterwarnings("ignore", category=ConvergenceWarning)
warnings.filterwarnings("ignore", category=UserWarning)


def tfidf12():
    return TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)


def folds(y):
    counts = np.bincount(y)
    counts = counts[counts > 0]
    if counts.min() >= 3:
        return StratifiedKFold(3, shuffle=True, random_state=0)
    return KFold(3, shuffle=True, random_state=0)


def make(name, y):
    if name == "ls_example":
        return make_pipeline(TfidfVectorizer(ngram_range=(1, 3), token_pattern=r"(?u)\b\w\w+\b|\w"), LogisticRegression(C=10))
    if name == "lr_cv":
        pipe = make_pipeline(tfidf12(), LogisticRegression(class_weight="balanced", max_iter=1000))
        return GridSearchCV(pipe, {"logisticregression__C": [1, 10, 100]}, cv=folds(y), scoring="accuracy")
    if name == "svm":
        return make_pipeline(tfidf12(), LinearSVC(C=1))
    if name == "cnb":
        pipe = make_pipeline(tfidf12(), ComplementNB())
        return GridSearchCV(pipe, {"complementnb__alpha": [0.01, 0.03, 0.1, 0.3, 1]}, cv=folds(y), scoring="accuracy")
    raise ValueError(name)


def curves(job):
    texts = job["texts"]
    y = np.array(job["y"])
    test = job["test"]
    test_texts = [texts[i] for i in test]
    results = []
    for item in job["jobs"]:
        train = item["train"]
        train_texts = [texts[i] for i in train]
        y_train = y[train]
        for name in job["models"]:
            if len(set(y_train.tolist())) < 2:
                continue
            model = make(name, y_train)
            start = time.perf_counter()
            model.fit(train_texts, y_train)
            fit_seconds = time.perf_counter() - start
            predicted = model.predict(test_texts)
            results.append({
                "key": item["key"], "model": name, "n": len(train),
                "accuracy": float(accuracy_score(y[test], predicted)),
                "macroF1": float(f1_score(y[test], predicted, average="macro")),
                "fitSeconds": fit_seconds,
            })
        print(f"  sklearn {item['key']} done", file=sys.stderr, flush=True)
    return results


def speed(job):
    texts = job["texts"]
    y = np.array(job["y"])
    train = job["trainIdx"]
    predict_texts = [texts[i] for i in job["predictIdx"]]
    out = []
    for name in job["models"]:
        fits, predicts, fit_cpu, predict_cpu = [], [], [], []
        for _ in range(job["runs"]):
            model = make(name, y[train])
            start, cpu = time.perf_counter(), time.process_time()
            model.fit([texts[i] for i in train], y[train])
            fits.append(time.perf_counter() - start)
            fit_cpu.append(time.process_time() - cpu)
            start, cpu = time.perf_counter(), time.process_time()
            model.predict_proba(predict_texts) if hasattr(model, "predict_proba") else model.predict(predict_texts)
            predicts.append(time.perf_counter() - start)
            predict_cpu.append(time.process_time() - cpu)
        out.append({
            "model": name, "runs": job["runs"],
            "trainSeconds": statistics.median(fits), "predictSeconds": statistics.median(predicts),
            "trainCpuSeconds": statistics.median(fit_cpu), "predictCpuSeconds": statistics.median(predict_cpu),
        })
    return out


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    result = curves(job) if job["mode"] == "curves" else speed(job)
    with open(sys.argv[2], "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main()
