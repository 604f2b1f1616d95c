"""Reference values for the statistics tests, computed with Debian's python3-scipy.

Reads a JSON object of cases on stdin and prints the same cases with scipy's answers:
  paired: [[a...], [b...]]   → mean difference, 95% t interval, p (scipy.stats.ttest_rel)
  welch:  [[a...], [b...]]   → difference, 95% Welch interval, df, p (scipy.stats.ttest_ind)
  mcnemar: [[b, c], ...]     → exact two-sided p (scipy.stats.binomtest(min, b + c, 0.5))
  bootstrap: [[first...], [second...]] (0/1 per example) → 95% percentile interval of the
             accuracy difference over 20,000 paired resamples (scipy.stats.bootstrap)
"""
import json
import sys

import numpy as np
from scipy import stats


def t_interval(diff_mean, se, df):
    q = stats.t.ppf(0.975, df)
    return [diff_mean - q * se, diff_mean + q * se]


def main():
    cases = json.load(sys.stdin)
    out = {}
    a, b = (np.array(x, float) for x in cases["paired"])
    d = a - b
    se = d.std(ddof=1) / np.sqrt(len(d))
    out["paired"] = {"estimate": d.mean(), "interval": t_interval(d.mean(), se, len(d) - 1),
                     "p": stats.ttest_rel(a, b).pvalue}
    a, b = (np.array(x, float) for x in cases["welch"])
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    out["welch"] = {"estimate": a.mean() - b.mean(),
                    "interval": t_interval(a.mean() - b.mean(), np.sqrt(va + vb), df),
                    "df": df, "p": stats.ttest_ind(a, b, equal_var=False).pvalue}
    out["mcnemar"] = [stats.binomtest(min(x, y), x + y, 0.5).pvalue for x, y in cases["mcnemar"]]
    first, second = (np.array(x, float) for x in cases["bootstrap"])
    res = stats.bootstrap((first - second,), np.mean, n_resamples=20000, method="percentile",
                          random_state=np.random.default_rng(0))
    out["bootstrap"] = [res.confidence_interval.low, res.confidence_interval.high]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
