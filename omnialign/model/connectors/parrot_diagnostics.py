"""Router diagnostics for the Parrot MoE connector (issue 6 §4; PROTOCOLS.md §6).

Parrot's claim is that experts specialise by prompt language. Collect one record per evaluated
sample — its prompt language and the dense router probabilities ``[E]``
(``ParrotMoEConnector.last_router_probs[b]``) — then :func:`expert_weights_by_language` averages them
per language into a ``[languages, E]`` matrix and :func:`save_expert_heatmap` draws it as a PNG.
Rows sum to 1 when the records are probability vectors; a uniform row (1/E everywhere) means the
router ignores that language.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

Record = tuple[str, object] | Mapping[str, object]


@dataclass(frozen=True)
class LanguageExpertMatrix:
    """Mean router probability per (language, expert)."""

    languages: list[str]
    matrix: np.ndarray  # [len(languages), E] float64
    counts: list[int]  # records averaged per language

    @property
    def num_experts(self) -> int:
        return int(self.matrix.shape[1])

    def dominant_expert(self) -> dict[str, int]:
        """Index of the highest-weight expert for each language."""
        return {lang: int(np.argmax(row)) for lang, row in zip(self.languages, self.matrix)}


def _to_vector(probs: object, index: int) -> np.ndarray:
    if hasattr(probs, "detach"):  # torch tensor, without importing torch here
        probs = probs.detach().cpu().float().numpy()
    arr = np.asarray(probs, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"record {index}: router_probs must be a non-empty 1-D vector [E], got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"record {index}: router_probs contain a non-finite value")
    return arr


def _unpack(record: Record, index: int) -> tuple[str, np.ndarray]:
    if isinstance(record, Mapping):
        if "lang" not in record or "router_probs" not in record:
            raise ValueError(f"record {index}: a mapping record needs keys 'lang' and 'router_probs'")
        lang, probs = record["lang"], record["router_probs"]
    else:
        try:
            lang, probs = record
        except (TypeError, ValueError):
            raise ValueError(f"record {index}: expected (lang, router_probs), got {type(record).__name__}") from None
    if not isinstance(lang, str) or not lang:
        raise ValueError(f"record {index}: lang must be a non-empty string, got {lang!r}")
    return lang, _to_vector(probs, index)


def records_from_batch(langs: Sequence[str], router_probs: object) -> list[tuple[str, np.ndarray]]:
    """Pair each sample's language with its row of ``router_probs [B, E]`` (e.g. ``last_router_probs``)."""
    if router_probs is None:
        raise ValueError("router_probs is None: run the connector with bypass=False first")
    if hasattr(router_probs, "detach"):
        router_probs = router_probs.detach().cpu().float().numpy()
    arr = np.asarray(router_probs, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] != len(langs):
        raise ValueError(f"router_probs must be [B={len(langs)}, E], got shape {arr.shape}")
    return [(lang, arr[i].copy()) for i, lang in enumerate(langs)]


def expert_weights_by_language(
    records: Iterable[Record], languages: Sequence[str] | None = None
) -> LanguageExpertMatrix:
    """Average router probabilities per language.

    ``records``: ``(lang, router_probs)`` pairs or ``{"lang", "router_probs"}`` mappings.
    ``languages``: row order; a language without records, or a record in a language not listed,
    is an error. ``None`` → languages in order of first appearance.
    """
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    num_experts: int | None = None
    for i, record in enumerate(records):
        lang, vec = _unpack(record, i)
        if num_experts is None:
            num_experts = vec.size
        elif vec.size != num_experts:
            raise ValueError(f"record {i}: router_probs has {vec.size} experts, earlier records have {num_experts}")
        if lang not in sums:
            sums[lang] = np.zeros(num_experts)
            counts[lang] = 0
        sums[lang] += vec
        counts[lang] += 1
    if num_experts is None:
        raise ValueError("records is empty: nothing to average")
    if languages is None:
        order = list(sums)
    else:
        order = list(languages)
        if len(set(order)) != len(order):
            raise ValueError(f"languages contains duplicates: {order}")
        missing = [lang for lang in order if lang not in sums]
        if missing:
            raise ValueError(f"languages without any record: {missing}")
        extra = [lang for lang in sums if lang not in order]
        if extra:
            raise ValueError(f"records in languages not listed in languages: {extra}")
    matrix = np.stack([sums[lang] / counts[lang] for lang in order])
    return LanguageExpertMatrix(order, matrix, [counts[lang] for lang in order])


def save_expert_heatmap(
    result: LanguageExpertMatrix,
    path: str | Path,
    title: str = "Parrot MoE: mean expert weight per prompt language",
    expert_labels: Sequence[str] | None = None,
    annotate: bool = True,
) -> Path:
    """Draw ``result.matrix`` (rows = languages, columns = experts) as a PNG heat map at ``path``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"path must end in .png, got {str(path)!r}")
    n_lang, n_exp = result.matrix.shape
    labels = list(expert_labels) if expert_labels is not None else [f"E{i}" for i in range(n_exp)]
    if len(labels) != n_exp:
        raise ValueError(f"expert_labels has {len(labels)} labels for {n_exp} experts")

    fig = Figure(figsize=(1.2 + 0.7 * n_exp, 1.0 + 0.5 * n_lang), dpi=100)
    FigureCanvasAgg(fig)  # Agg canvas: no pyplot state, no display needed
    ax = fig.add_subplot(1, 1, 1)
    vmax = float(result.matrix.max()) if result.matrix.size else 1.0
    image = ax.imshow(result.matrix, cmap="viridis", vmin=0.0, vmax=vmax if vmax > 0 else 1.0, aspect="auto")
    ax.set_xticks(range(n_exp), labels)
    ax.set_yticks(range(n_lang), [f"{lang} (n={c})" for lang, c in zip(result.languages, result.counts)])
    ax.set_xlabel("expert")
    ax.set_ylabel("prompt language")
    ax.set_title(title, fontsize=9)
    if annotate:
        for r in range(n_lang):
            for c in range(n_exp):
                value = result.matrix[r, c]
                dark = value < 0.5 * vmax
                ax.text(c, r, f"{value:.2f}", ha="center", va="center", fontsize=7, color="white" if dark else "black")
    fig.colorbar(image, ax=ax)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png")
    return path


def language_expert_heatmap(
    records: Iterable[Record],
    path: str | Path,
    languages: Sequence[str] | None = None,
    **plot_kwargs,
) -> np.ndarray:
    """Average ``records`` per language, save the PNG heat map at ``path`` and return the matrix."""
    result = expert_weights_by_language(records, languages)
    save_expert_heatmap(result, path, **plot_kwargs)
    return result.matrix


def specialisation_score(result: LanguageExpertMatrix) -> float:
    """Mean over languages of ``1 − H(row)/log E`` (0 = uniform routing, 1 = one expert per language)."""
    if result.num_experts < 2:
        return 0.0
    rows = result.matrix / result.matrix.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.where(rows > 0, rows * np.log(rows), 0.0).sum(axis=1)
    return float(np.mean(1.0 - ent / math.log(result.num_experts)))
