"""`kws tsne`: do unseen words form clusters in the embedding? A picture and two numbers."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from toolchain.artifacts import write_json_atomic
from toolchain.corpus.mswc import read_mswc
from toolchain.embedding.artifact import Embedding, embed
from toolchain.errors import KwsError
from toolchain.features import batch_features, decode_clips


def embedding_view(embedding: Embedding, corpus: Path, out: Path, max_words: int = 30, seed: int = 0, progress: bool = True) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.manifold import TSNE
    from sklearn.metrics import silhouette_score
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.model_selection import cross_val_score

    vocab = {(lang, w) for lang, words in embedding.manifest["vocabulary"].items() for w in words}
    clips = [c for c in read_mswc(corpus).clips if (c.language, c.label) not in vocab]
    words = sorted({(c.language, c.label) for c in clips})
    if len(words) < 2:
        raise KwsError(f"{corpus}: need at least two words the embedding never saw")
    rng = np.random.default_rng(seed)
    chosen = {words[i] for i in rng.choice(len(words), min(max_words, len(words)), replace=False)}
    clips = [c for c in clips if (c.language, c.label) in chosen]
    kept, audio, _ = decode_clips(clips, progress=progress)
    vectors = embed(embedding.trunk, batch_features(np.stack(audio), embedding.frontend).astype(np.float32))
    labels = np.array([f"{r.language}/{r.label}" for r in kept])
    silhouette = float(silhouette_score(vectors, labels, metric="cosine"))
    folds = int(min(5, np.bincount(np.unique(labels, return_inverse=True)[1]).min()))
    knn = KNeighborsClassifier(1, metric="cosine")
    nn_accuracy = float(np.mean(cross_val_score(knn, vectors, labels, cv=folds))) if folds >= 2 else None
    points = TSNE(2, random_state=seed, perplexity=min(30, len(vectors) - 1), init="pca").fit_transform(vectors)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    figure, axis = plt.subplots(figsize=(10, 8))
    colours = plt.get_cmap("tab20", len(chosen))
    for index, word in enumerate(sorted(set(labels))):
        mask = labels == word
        axis.scatter(points[mask, 0], points[mask, 1], s=14, color=colours(index), label=word)
        centre = points[mask].mean(0)
        axis.annotate(word, centre, fontsize=7, ha="center")
    axis.set_title(f"t-SNE of embeddings of {len(chosen)} words the classifier never saw\n"
                   f"silhouette {silhouette:.3f}, 1-NN accuracy {nn_accuracy if nn_accuracy is None else round(nn_accuracy, 3)}")
    axis.legend(fontsize=6, ncol=2, loc="best", markerscale=0.8)
    tmp = out / ".tsne.png.tmp.png"
    figure.savefig(tmp, dpi=120, bbox_inches="tight")
    plt.close(figure)
    tmp.replace(out / "tsne.png")
    result = {"words": sorted(set(labels)), "clips": int(len(labels)), "silhouette_cosine": round(silhouette, 4),
              "nearest_neighbour_accuracy": None if nn_accuracy is None else round(nn_accuracy, 4),
              "nn_folds": folds, "embedding_hash": embedding.hash, "png": str(out / "tsne.png")}
    write_json_atomic(out / "tsne.json", result)
    return result
