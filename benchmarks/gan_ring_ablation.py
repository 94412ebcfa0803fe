"""Which change cures mode collapse on the ring of Gaussians? One factor at a time, several seeds.

Chapter 05, part 3 (``chapters/05_practice/03_gan_mnist.ipynb``, Section 2) trains a small MLP GAN
with the non-saturating loss on a ring of eight Gaussians, first with settings that collapse and
never settle ("chasing"), then with "remedy 1". The two differ in four things at once:

=========================  ===========  ============
factor                     chasing      remedy 1
=========================  ===========  ============
Adam ``beta_1``            0.9          0.5
learning rate (peak)       1e-3         2e-3
schedule                   constant     cosine decay to 0 over the run
steps                      2,000        3,000
=========================  ===========  ============

This script changes them one at a time, in both directions (each factor of remedy 1 added to
"chasing" alone, and each factor of "chasing" put back into remedy 1 alone), for several seeds,
and prints for every run the notebook's numbers: the modes covered and the high-quality
fraction of 1,000 samples from fixed noise after the last step
(``course_lib.gan.ring_mode_coverage``), and, for the early collapse, the fewest modes
*occupied* in the snapshots after 250, 500, 750 and 1,000 steps (a mode is occupied when it is
the nearest centre of at least half its fair share of the samples, as in the notebook:
``course_lib.gan.ring_modes_occupied``). Every run is ``course_lib.gan.train_ring_gan``, the
function the notebook calls: two MLPs with hidden layers (128, 128), an 8-D latent, batches of
256, Adam's ``beta_2 = 0.999`` for both players, the course's ``Trainer``.

    # 10 settings x 5 seeds, about 10-15 min on 1 core:
    python benchmarks/gan_ring_ablation.py
    python benchmarks/gan_ring_ablation.py --seeds 0 1 --settings chasing remedy1

Prints one line per run, then a Markdown table: per setting, the fewest modes occupied early and
the modes covered at the end for each seed, the mean high-quality fraction over the seeds, and
for how many seeds at least 6 of the 8 modes were covered.
"""

from __future__ import annotations

import argparse
import os
import platform
from datetime import date

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
import tensorflow as tf

from course_lib.data import ring_mode_centers
from course_lib.gan import ring_mode_coverage, ring_modes_occupied, train_ring_gan

CHASING = {"beta_1": 0.9, "learning_rate": 1e-3, "cosine": False, "steps": 2000}
REMEDY1 = {"beta_1": 0.5, "learning_rate": 2e-3, "cosine": True, "steps": 3000}
FACTORS = {"beta_1": "beta_1", "learning_rate": "rate", "cosine": "cosine", "steps": "steps"}


def settings() -> dict[str, dict]:
    """The two recipes and the eight one-factor variants, in print order."""
    out = {"chasing": dict(CHASING)}
    for key, short in FACTORS.items():
        out[f"chasing + {short} of remedy 1"] = {**CHASING, key: REMEDY1[key]}
    out["remedy1"] = dict(REMEDY1)
    for key, short in FACTORS.items():
        out[f"remedy 1 with {short} of chasing"] = {**REMEDY1, key: CHASING[key]}
    return out


def train_ring(
    beta_1: float, learning_rate: float, cosine: bool, steps: int, seed: int
) -> tuple[int, int, float, float]:
    """One run of the notebook's recipe (non-saturating loss).

    Returns the fewest modes occupied in the snapshots at steps 250-1,000, the modes covered
    and the high-quality fraction at the end, and the training time in seconds.
    """
    run = train_ring_gan(
        steps=steps,
        learning_rate=learning_rate,
        beta_1=beta_1,
        cosine_decay=cosine,
        every=250,
        seed=seed,
    )
    centers = ring_mode_centers(8, 2.0)
    # Snapshots after 250, 500, 750 and 1,000 steps, from the notebook's fixed noise.
    occupied = [ring_modes_occupied(samples, centers) for _, samples in run.snapshots[:4]]
    final = run.gan.generate(1000, seed=123).numpy()
    covered, quality = ring_mode_coverage(final, centers, std=0.02)
    return min(occupied), covered, quality, run.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument(
        "--settings",
        nargs="+",
        default=None,
        help="names to run (default: all); 'chasing' and 'remedy1' are the notebook's two runs",
    )
    args = parser.parse_args()
    chosen = settings()
    if args.settings:
        chosen = {name: chosen[name] for name in args.settings}
    print(
        f"{date.today().isoformat()}, {platform.processor() or platform.machine()}, TensorFlow "
        f"{tf.__version__}, "
        f"Keras {keras.__version__}; seeds {args.seeds}",
        flush=True,
    )
    results: dict[str, list[tuple[int, int, float]]] = {}
    for name, cfg in chosen.items():
        results[name] = []
        for seed in args.seeds:
            early, covered, quality, seconds = train_ring(seed=seed, **cfg)
            results[name].append((early, covered, quality))
            print(
                f"{name:34s} seed {seed}: fewest modes occupied in steps 250-1,000 {early}; at the "
                "end "
                f"modes covered {covered}, high-quality fraction {quality:.3f} ({seconds:.1f} s)",
                flush=True,
            )

    print(
        "\n| setting | beta_1 | rate | schedule | steps | fewest modes occupied, steps 250-1,000, "
        "per seed "
        "| modes covered at the end, per seed | high-quality fraction, mean (min-max) | seeds with "
        ">= 6 modes |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, runs in results.items():
        cfg = chosen[name]
        early = [e for e, _, _ in runs]
        covered = [c for _, c, _ in runs]
        quality = np.array([q for _, _, q in runs])
        print(
            f"| {name} | {cfg['beta_1']} | {cfg['learning_rate']:g} | "
            f"{'cosine' if cfg['cosine'] else 'constant'} "
            f"| {cfg['steps']:,} | {', '.join(map(str, early))} | {', '.join(map(str, covered))} "
            f"| {quality.mean():.2f} ({quality.min():.2f}-{quality.max():.2f}) "
            f"| {sum(c >= 6 for c in covered)} of {len(covered)} |"
        )


if __name__ == "__main__":
    main()
