"""Find a backdoor in a Fashion-MNIST ConvNet with its decision map (the paper's section 5.4)
==========================================================================================

DeepView's authors poisoned a ConvNet's training data the way Gu et al. (2017) do:
some bags carry a small pattern in their top-right corner and are relabelled as
trousers. The network learns both tasks: it is accurate on clean images, and any bag
with the pattern becomes a trouser. Accuracy on a clean test set cannot reveal this;
the decision map of a test set with a few backdoored bags in it does. The classifier
pulls those bags towards the trousers while their pixels keep them apart from the
real ones: they gather in a tight group at the edge of the trousers, and π⁻¹ there
synthesises bags with the pattern that the network calls trousers (the paper's
Figures 5 and 6).

The script

1. stamps a 4×4 checkerboard into the top-right corner of 15 % of the training bags,
   relabels them Trouser, and trains a 4-layer ConvNet on CPU (cached in
   ``--cache``; a second run reuses it);
2. reports clean test accuracy and the backdoor's success rate (stamped test bags
   classified as trousers);
3. maps 600 test images, 580 clean and 20 stamped bags, with the paper's settings
   (λ = 0.65, n = 5, UMAP ``n_neighbors=30``, ``min_dist=1``) and compares the four
   quality scores with the paper's Table 1;
4. measures how the backdoored points stand out: their nearest neighbours in the map
   and in a plain Euclidean UMAP, their distances to the clean trousers and bags, and
   what π⁻¹ synthesises at their centre (label, certainty, the corner pattern).

Outputs in ``--output-dir`` (default ``didi-output/fashion_backdoor``):

* ``decision_map.png``: the map, backdoored bags as black-edged stars;
* ``probes.png``: five probes from the trousers' centre through the backdoored
  bags to the bags' centre, with the images π⁻¹ synthesises there (Figure 6);
* ``scores.md``, ``scores.json``: the quality scores beside the paper's, clean
  accuracy, backdoor success rate, timings;
* ``backdoor.md``, ``backdoor.json``: the stand-out measurements, per backdoored
  point and summarised;
* ``convnet.pt``: the trained network (the default ``--cache``).

The default scale of the DiDi distance is ``"typical"``, which weighs the classifier's
part more than the reference implementation at the same λ; ``--paper-scale`` uses
the reference's ``scale="max"`` (every pair of the 600 points evaluated, slower).
With more weight on the pixels, the backdoored bags move further from the trousers,
towards the bags.

Needs the Fashion-MNIST files and PyTorch (a CPU build is enough), nothing is
downloaded::

    apt-get install dataset-fashion-mnist
    pip install "didi[torch]"

Run: ``python examples/fashion_mnist_backdoor.py`` (about two and a half minutes on
two CPU cores, most of it training; half a minute with the network cached).
"""

# sphinx_gallery_thumbnail_path = "images/fashion_backdoor_probes.png"

import argparse
import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import numpy as np
import torch
from matplotlib.lines import Line2D
from torch import nn

from didi import DecisionMap, DecisionMapDisplay, ProbeDisplay
from didi.datasets import FASHION_MNIST_CLASSES, load_fashion_mnist
from didi.torch import TorchClassifier

CLASSES = np.asarray(FASHION_MNIST_CLASSES)
TROUSER, BAG = 1, 8

#: The trigger: a 4×4 checkerboard, bright where row + column is even.
PATTERN = (np.indices((4, 4)).sum(axis=0) % 2 == 0).astype(np.float32)
#: Where it goes: rows 1–4, columns 23–26, the top-right corner inside the border.
CORNER = (slice(1, 5), slice(23, 27))

#: Share of the training bags that are stamped and relabelled.
POISON_FRACTION = 0.15
EPOCHS = 5
BATCH_SIZE = 128
LEARNING_RATE = 1e-3

N_CLEAN, N_BACKDOOR = 580, 20
N_NEIGHBOURS = 5  # as in Q_kNN

#: The paper's Table 1, Fashion-MNIST row, in %.
PAPER_SCORES = {"q_knn_e": 66.1, "q_knn": 94.8, "q_data": 98.6, "q_not_data": 95.0}
SCORE_NAMES = {"q_knn_e": "Q_kNN-E", "q_knn": "Q_kNN", "q_data": "Q_data", "q_not_data": "Q_¬data"}


# ---------------------------------------------------------------------- data


def stamp(images: np.ndarray) -> np.ndarray:
    """Copies of ``(n, 28, 28)`` images in [0, 1] with the pattern in their corner."""
    stamped = images.copy()
    stamped[:, CORNER[0], CORNER[1]] = PATTERN
    return stamped


def poisoned_training_set(seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Training images in [0, 1] and labels, with a share of the bags backdoored.

    The stamped bags replace their clean originals, as in Gu et al., so the
    training set keeps its size and the network sees the pattern only on bags.
    """
    images, labels = load_fashion_mnist("train")
    images = images.astype(np.float32) / 255.0
    labels = labels.astype(np.int64)
    bags = np.flatnonzero(labels == BAG)
    rng = np.random.default_rng(seed)
    poisoned = rng.choice(bags, size=round(POISON_FRACTION * len(bags)), replace=False)
    images[poisoned] = stamp(images[poisoned])
    labels[poisoned] = TROUSER
    return images, labels, len(poisoned)


def map_samples(
    images: np.ndarray, labels: np.ndarray, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 600 mapped test images, flat: 580 clean ones, then 20 stamped bags.

    Returns the samples ``(600, 784)``, their true class names (a stamped bag is
    still a bag) and a mask of the backdoored ones.
    """
    rng = np.random.default_rng(seed)
    backdoored = rng.choice(np.flatnonzero(labels == BAG), size=N_BACKDOOR, replace=False)
    rest = np.setdiff1d(np.arange(len(labels)), backdoored)
    clean = np.sort(rng.choice(rest, size=N_CLEAN, replace=False))
    X = np.concatenate([images[clean], stamp(images[backdoored])]).reshape(-1, 28 * 28)
    y = CLASSES[np.concatenate([labels[clean], labels[backdoored]])]
    is_backdoor = np.arange(len(X)) >= N_CLEAN
    return X, y, is_backdoor


# ---------------------------------------------------------------------- network


def convnet() -> nn.Module:
    """The 4-layer ConvNet: two convolutions, two dense layers; outputs logits."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * 5 * 5, 128),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(128, 10),
    )


def train(net: nn.Module, images: np.ndarray, labels: np.ndarray, seed: int) -> None:
    """A few epochs of Adam on shuffled mini-batches."""
    X = torch.from_numpy(images[:, None])
    y = torch.from_numpy(labels)
    order = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    net.train()
    for epoch in range(EPOCHS):
        total = 0.0
        for batch in torch.randperm(len(X), generator=order).split(BATCH_SIZE):
            optimiser.zero_grad()
            loss = nn.functional.cross_entropy(net(X[batch]), y[batch])
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
        print(f"  epoch {epoch + 1}/{EPOCHS}: loss {total / len(X):.3f}")


def trained_network(cache: Path, seed: int) -> tuple[nn.Module, float | None]:
    """The poisoned network, from ``cache`` when it was trained with these settings.

    Returns the network and the training time in seconds (``None`` when cached).
    """
    settings = {
        "seed": seed,
        "poison_fraction": POISON_FRACTION,
        "epochs": EPOCHS,
        "batch_size": BATCH_SIZE,
        "learning_rate": LEARNING_RATE,
        "pattern": PATTERN.tolist(),
        "corner": [CORNER[0].start, CORNER[1].start],
    }
    torch.manual_seed(seed)
    net = convnet()
    if cache.is_file():
        saved = torch.load(cache, weights_only=True)
        if saved.get("settings") == settings:
            net.load_state_dict(saved["state_dict"])
            print(f"network loaded from {cache}")
            return net, None
    images, labels, n_poisoned = poisoned_training_set(seed)
    print(f"training on {len(images)} images, {n_poisoned} of them stamped bags → Trouser")
    start = time.perf_counter()
    train(net, images, labels, seed)
    seconds = time.perf_counter() - start
    cache.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"settings": settings, "state_dict": net.state_dict()}, cache)
    return net, seconds


def backdoor_rates(clf: TorchClassifier, images: np.ndarray, labels: np.ndarray) -> dict:
    """Clean accuracy and what the pattern does on the whole test set."""
    flat = images.reshape(len(images), -1)
    predicted = clf.predict(flat)
    stamped = clf.predict(stamp(images).reshape(len(images), -1))
    bags = labels == BAG
    return {
        "clean_accuracy": float(np.mean(predicted == CLASSES[labels])),
        "clean_bag_accuracy": float(np.mean(predicted[bags] == "Bag")),
        # Gu et al.'s attack success rate: stamped bags classified as the target.
        "backdoor_success_rate": float(np.mean(stamped[bags] == "Trouser")),
        # Whether the trigger works beyond bags, which the network never saw stamped.
        "stamped_other_as_trouser": float(
            np.mean(stamped[~bags & (labels != TROUSER)] == "Trouser")
        ),
    }


# ---------------------------------------------------------------------- map


def medoid(points: np.ndarray) -> np.ndarray:
    """The point with the smallest summed distance to the others.

    A class may split into several islands in the map; their mean can fall in
    empty space between them, a medoid always lies on one of the points.
    """
    distances = np.linalg.norm(points[:, None] - points[None], axis=-1)
    return points[distances.sum(axis=1).argmin()]


def fit_map(
    clf: TorchClassifier,
    X: np.ndarray,
    y: np.ndarray,
    *,
    paper_scale: bool,
    seed: int,
    verbose: bool,
) -> DecisionMap:
    """The paper's settings; ``paper_scale`` adds the reference's scaling of the distance."""
    scale = {"scale": "max", "mode": "dense"} if paper_scale else {}
    dmap = DecisionMap(
        clf,
        lam=0.65,
        n_steps=5,
        n_neighbors=30,
        min_dist=1.0,
        random_state=seed,
        verbose=verbose,
        **scale,
    )
    return dmap.fit(X, y)


def centres(dmap: DecisionMap, y: np.ndarray, is_backdoor: np.ndarray) -> dict:
    """Map positions of the clean trousers, the clean bags and the backdoored bags,
    with the typical spread of the two clean classes around their centre."""
    predicted = dmap.classes_[dmap.proba_.argmax(axis=1)]
    found = {}
    for name in ("Trouser", "Bag"):
        # Correctly classified clean points of the class: the class's own region.
        points = dmap.embedding_[~is_backdoor & (y == name) & (predicted == name)]
        found[name] = medoid(points)
        found[f"{name} spread"] = float(np.median(np.linalg.norm(points - found[name], axis=1)))
    found["backdoored"] = medoid(dmap.embedding_[is_backdoor])
    found["backdoored mean"] = dmap.embedding_[is_backdoor].mean(axis=0)
    return found


def probe_positions(centre: dict) -> dict:
    """Five probes like Figure 6, trousers → backdoored bags → bags, and the mean
    position of the backdoored bags (not a data point, unlike their medoid)."""
    trouser, backdoor, bag = centre["Trouser"], centre["backdoored"], centre["Bag"]
    return {
        "0: Trouser centre": trouser,
        "1: halfway": (trouser + backdoor) / 2,
        "2: backdoored centre": backdoor,
        "3: halfway": (backdoor + bag) / 2,
        "4: Bag centre": bag,
        "backdoored mean": centre["backdoored mean"],
    }


# ---------------------------------------------------------------------- stand-out measures


def neighbours(embedding: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Indices of the ``N_NEIGHBOURS`` nearest points of each of ``rows``, itself excluded."""
    from sklearn.neighbors import NearestNeighbors

    search = NearestNeighbors(n_neighbors=N_NEIGHBOURS + 1).fit(embedding)
    found = search.kneighbors(embedding[rows], return_distance=False)
    return np.array(
        [[j for j in near if j != i][:N_NEIGHBOURS] for i, near in zip(rows, found, strict=True)]
    )


def neighbour_kinds(near: np.ndarray, predicted: np.ndarray, is_backdoor: np.ndarray) -> dict:
    """Shares of neighbours that are backdoored bags, or clean points predicted Trouser,
    Bag or anything else. Backdoored neighbours are counted apart: 20 stamped bags
    next to each other would otherwise look like a trouser neighbourhood by themselves."""
    clean = ~is_backdoor[near]
    return {
        "backdoored": float(np.mean(is_backdoor[near])),
        "clean Trouser": float(np.mean(clean & (predicted[near] == "Trouser"))),
        "clean Bag": float(np.mean(clean & (predicted[near] == "Bag"))),
        "clean other": float(np.mean(clean & ~np.isin(predicted[near], ["Trouser", "Bag"]))),
    }


def corner_pattern(image: np.ndarray) -> dict:
    """How much of the pattern an image carries in its corner.

    ``contrast`` is the mean of the pattern's bright cells minus that of its dark
    cells: 1 for a stamped image, about 0 where the corner is plain.
    """
    patch = image.reshape(28, 28)[CORNER]
    bright = PATTERN > 0.5
    return {
        "corner_mean": float(patch.mean()),
        "contrast": float(patch[bright].mean() - patch[~bright].mean()),
    }


def stand_out(dmap: DecisionMap, centre: dict, positions: dict, is_backdoor: np.ndarray) -> dict:
    """How the backdoored bags stand out in the map, per point and in summary."""
    predicted = dmap.classes_[dmap.proba_.argmax(axis=1)]
    rows = np.flatnonzero(is_backdoor)
    near_map = neighbours(dmap.embedding_, rows)
    near_euclidean = neighbours(dmap.euclidean_umap_.embedding_, rows)
    points = []
    for k, i in enumerate(rows):
        position = dmap.embedding_[i]
        points.append(
            {
                "index": int(i),
                "predicted": str(predicted[i]),
                "certainty": float(1.0 - entropy(dmap.proba_[i])),
                "neighbours_predicted": predicted[near_map[k]].tolist(),
                "neighbours_backdoored": int(is_backdoor[near_map[k]].sum()),
                "distance_to_trouser": float(np.linalg.norm(position - centre["Trouser"])),
                "distance_to_bag": float(np.linalg.norm(position - centre["Bag"])),
            }
        )
    found = dmap.probe(np.array(list(positions.values())))
    inverse = {
        name: {
            "position": found.positions[k].tolist(),
            "label": str(found.labels[k]),
            "certainty": float(found.certainty[k]),
            **corner_pattern(found.samples[k]),
        }
        for k, name in enumerate(positions)
    }
    distances = np.array([[p["distance_to_trouser"], p["distance_to_bag"]] for p in points])
    return {
        "points": points,
        "neighbours_in_map": neighbour_kinds(near_map, predicted, is_backdoor),
        "neighbours_in_euclidean_umap": neighbour_kinds(near_euclidean, predicted, is_backdoor),
        "median_distance_to_trouser": float(np.median(distances[:, 0])),
        "median_distance_to_bag": float(np.median(distances[:, 1])),
        "trouser_spread": centre["Trouser spread"],
        "bag_spread": centre["Bag spread"],
        "trouser_to_bag": float(np.linalg.norm(centre["Trouser"] - centre["Bag"])),
        "inverse": inverse,
    }


def entropy(proba: np.ndarray) -> float:
    """Entropy divided by log(n_classes), as the map's certainty uses."""
    p = proba[proba > 0]
    return float(-(p * np.log(p)).sum() / np.log(len(proba)))


# ---------------------------------------------------------------------- pictures


def mark_backdoored(display: DecisionMapDisplay, is_backdoor: np.ndarray, size: float) -> None:
    """Draw the backdoored bags as black-edged stars and add them to the legend.

    The stars take the Bag colour of their true label and sit under the crosses
    the display draws in the colour of the predicted class, as for any point.
    """
    ax = display.ax_
    colour = display.scatter_.get_facecolors()[np.flatnonzero(is_backdoor)[0]]
    ax.scatter(
        *display.embedding[is_backdoor].T,
        marker="*",
        s=size,
        color=colour,
        edgecolors="black",
        linewidths=1.2,
        zorder=2.5,
    )
    # The display's legend takes no extra entries: rebuild it with the star.
    legend = ax.get_legend()
    names = [text.get_text() for text in legend.get_texts()]
    star = Line2D([], [], marker="*", markersize=13, color=colour, markeredgecolor="black")
    star.set_linestyle("")
    ax.legend(
        [*legend.legend_handles, star],
        [*names, "bag with the corner\npattern (backdoored)"],
        loc="center left",
        bbox_to_anchor=(1.01, 0.5),
        frameon=False,
        fontsize="small",
    )


def draw_map(dmap: DecisionMap, is_backdoor: np.ndarray, path: Path) -> None:
    """The decision map (Figure 5) with the backdoored bags as stars."""
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=(9, 7))
    display = DecisionMapDisplay.from_estimator(
        dmap, ax=ax, title=f"ConvNet on 600 Fashion-MNIST test images, {N_BACKDOOR} backdoored"
    )
    mark_backdoored(display, is_backdoor, size=200)
    display.figure_.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(display.figure_)


def draw_probes(dmap: DecisionMap, positions: np.ndarray, is_backdoor: np.ndarray, path: Path):
    """Figure 6: numbered probes on the map and the images π⁻¹ synthesises there."""
    import matplotlib.pyplot as plt

    shown = ProbeDisplay.from_estimator(
        dmap, positions, image_shape=(28, 28), title="Probes: trousers → backdoored bags → bags"
    )
    mark_backdoored(shown.map_display_, is_backdoor, size=120)
    shown.map_display_.ax_.plot(*positions.T, "k--", linewidth=1, zorder=3.5)
    shown.figure_.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(shown.figure_)
    return shown.probe


# ---------------------------------------------------------------------- reports


def write_scores(out: Path, dmap: DecisionMap, rates: dict, timings: dict, scale: str) -> None:
    """The quality scores beside the paper's, and what the backdoor does."""
    ours = {name: round(100 * dmap.scores_[name], 1) for name in SCORE_NAMES}
    lines = [
        f"Fashion-MNIST backdoor, DiDi scale {scale!r}",
        "",
        "| score | didi | paper (Table 1) |",
        "|---|---:|---:|",
        *(f"| {SCORE_NAMES[n]} | {ours[n]:.1f} % | {PAPER_SCORES[n]:.1f} % |" for n in ours),
        "",
        "| network | |",
        "|---|---:|",
        f"| clean test accuracy | {rates['clean_accuracy']:.1%} |",
        f"| clean test bags classified Bag | {rates['clean_bag_accuracy']:.1%} |",
        f"| stamped test bags classified Trouser (success rate) "
        f"| {rates['backdoor_success_rate']:.1%} |",
        f"| stamped test images of other classes classified Trouser "
        f"| {rates['stamped_other_as_trouser']:.1%} |",
        "",
        "Seconds: "
        + ", ".join(f"{k} {v:.1f}" for k, v in timings.items())
        + ("" if "training" in timings else " (network from the cache)"),
    ]
    (out / "scores.md").write_text("\n".join(lines) + "\n")
    report = {
        "scale": scale,
        "scores_percent": ours,
        "paper_scores_percent": PAPER_SCORES,
        **rates,
        "seconds": timings,
        "classifier_rows": int(dmap.n_classifier_rows_),
    }
    (out / "scores.json").write_text(json.dumps(report, indent=2) + "\n")
    print("\n".join(lines))


def write_stand_out(out: Path, found: dict) -> None:
    """The stand-out measurements as a readable summary and as JSON."""

    def shares(kinds):
        return ", ".join(f"{name} {share:.0%}" for name, share in kinds.items())

    summary = [
        f"Backdoored bags ({N_BACKDOOR}): shares of their {N_NEIGHBOURS} nearest neighbours",
        f"* in the decision map: {shares(found['neighbours_in_map'])}",
        f"* in a Euclidean UMAP of the pixels: {shares(found['neighbours_in_euclidean_umap'])}",
        "",
        "Distances in the map (medians over the backdoored bags; spread = median "
        "distance of a clean class's points to its centre):",
        f"* to the Trouser centre {found['median_distance_to_trouser']:.2f} "
        f"(Trouser spread {found['trouser_spread']:.2f})",
        f"* to the Bag centre {found['median_distance_to_bag']:.2f} "
        f"(Bag spread {found['bag_spread']:.2f})",
        f"* Trouser centre to Bag centre {found['trouser_to_bag']:.2f}",
        "",
        "| π⁻¹ at | label | certainty | corner mean | pattern contrast |",
        "|---|---|---:|---:|---:|",
        *(
            f"| {name} | {v['label']} | {v['certainty']:.0%} | {v['corner_mean']:.2f} "
            f"| {v['contrast']:.2f} |"
            for name, v in found["inverse"].items()
        ),
        "",
        "A stamped image has corner mean 0.50 and pattern contrast 1.00, a plain corner 0.",
    ]
    per_point = [
        "| point | predicted | certainty | neighbours (predicted) | of them backdoored "
        "| to Trouser | to Bag |",
        "|---:|---|---:|---|---:|---:|---:|",
        *(
            f"| {p['index']} | {p['predicted']} | {p['certainty']:.0%} | "
            f"{', '.join(p['neighbours_predicted'])} | {p['neighbours_backdoored']} | "
            f"{p['distance_to_trouser']:.2f} | {p['distance_to_bag']:.2f} |"
            for p in found["points"]
        ),
    ]
    (out / "backdoor.md").write_text("\n".join([*summary, "", *per_point]) + "\n")
    (out / "backdoor.json").write_text(json.dumps(found, indent=2) + "\n")
    print("\n".join(summary))


# ---------------------------------------------------------------------- main


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output-dir", type=Path, default=Path("didi-output/fashion_backdoor"))
    parser.add_argument(
        "--cache", type=Path, help="trained network (default: OUTPUT_DIR/convnet.pt)"
    )
    parser.add_argument(
        "--paper-scale",
        action="store_true",
        help='scale the DiDi distance as the reference does (scale="max", every pair)',
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", action="store_true", help="progress bars")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    start = time.perf_counter()
    out = args.output_dir
    out.mkdir(parents=True, exist_ok=True)

    net, train_seconds = trained_network(args.cache or out / "convnet.pt", args.seed)
    clf = TorchClassifier(net, input_shape=(1, 28, 28), classes=FASHION_MNIST_CLASSES)
    test_images, test_labels = load_fashion_mnist("test")
    test_images = test_images.astype(np.float32) / 255.0
    rates = backdoor_rates(clf, test_images, test_labels)
    print(
        f"clean test accuracy {rates['clean_accuracy']:.1%}, "
        f"backdoor success rate {rates['backdoor_success_rate']:.1%}"
    )

    X, y, is_backdoor = map_samples(test_images, test_labels, args.seed)
    scale = "max" if args.paper_scale else "typical"
    print(f"mapping {len(X)} test images ({is_backdoor.sum()} backdoored), scale={scale!r}")
    clock = time.perf_counter()
    dmap = fit_map(clf, X, y, paper_scale=args.paper_scale, seed=args.seed, verbose=args.verbose)
    map_seconds = time.perf_counter() - clock
    print("map stages (s):", {k: round(v, 1) for k, v in dmap.timings_.items()})

    centre = centres(dmap, y, is_backdoor)
    draw_map(dmap, is_backdoor, out / "decision_map.png")
    positions = probe_positions(centre)
    strip = np.array(list(positions.values())[:5])
    probe = draw_probes(dmap, strip, is_backdoor, out / "probes.png")
    for k, (label, certainty) in enumerate(zip(probe.labels, probe.certainty, strict=True)):
        print(f"probe {k}: {label} ({certainty:.0%})")
    write_stand_out(out, stand_out(dmap, centre, positions, is_backdoor))

    # A cached network has no training time; the total then covers the map alone.
    timings = {"training": train_seconds} if train_seconds is not None else {}
    timings.update({"map fit": map_seconds, "total": time.perf_counter() - start})
    write_scores(out, dmap, rates, timings, scale)
    print(f"wrote {', '.join(sorted(p.name for p in out.iterdir()))} to {out}")


if __name__ == "__main__":
    main()
