"""Strict top-k, the rule every QBench figure uses (engine/measure/topk.h).

Classes are ordered by score, highest first, and equal scores by class index, lowest first;
a sample is a top-k hit when its label's rank is below k. Top-1 is therefore np.argmax. A
sample's top-1 is tied when its highest score is shared by several classes. The bench
scripts score every runtime (ORT, PyTorch, ours) with these functions, so no figure in a
comparison comes from another rule (torch.topk, for one, orders equal scores arbitrarily).
"""
import numpy as np


def label_ranks(scores, labels):
    """Rank of each sample's label: #{c: s[c] > s[y]} + #{c < y: s[c] == s[y]} (NaN first)."""
    s = np.where(np.isnan(scores), np.inf, scores).astype(np.float64)
    labels = np.asarray(labels)
    own = s[np.arange(s.shape[0]), labels][:, None]
    cls = np.arange(s.shape[1])[None, :]
    return ((s > own) | ((s == own) & (cls < labels[:, None]))).sum(axis=1)


def topk_hits(scores, labels, k):
    """Number of samples whose label ranks below k."""
    return int((label_ranks(scores, labels) < k).sum())


def tied_top1(scores):
    """Number of samples whose highest score occurs more than once."""
    s = np.where(np.isnan(scores), np.inf, scores)
    return int(((s == s.max(axis=1, keepdims=True)).sum(axis=1) > 1).sum())


def paired_counts(base_correct, other_correct):
    """(base right & other wrong, base wrong & other right): the discordant samples."""
    b = np.asarray(base_correct, bool)
    o = np.asarray(other_correct, bool)
    return int((b & ~o).sum()), int((~b & o).sum())


if __name__ == "__main__":  # self-check against a brute-force loop
    rng = np.random.default_rng(0)
    x = rng.integers(0, 4, size=(500, 6)).astype(np.float32)  # many ties
    y = rng.integers(0, 6, size=500)
    for k in (1, 5):
        want = sum(1 for r, l in zip(x, y) if sorted(range(6), key=lambda c: (-r[c], c)).index(l) < k)
        assert topk_hits(x, y, k) == want, (k, topk_hits(x, y, k), want)
    assert topk_hits(x, y, 1) == int((np.argmax(x, axis=1) == y).sum())
    assert tied_top1(x) == sum(1 for r in x if list(r).count(r.max()) > 1)
    print("topk.py: ok")
