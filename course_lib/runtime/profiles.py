"""Run profiles: the course's sizes, as data.

A *profile* scales every experiment in the course without changing its logic:

* ``ci``      -- what ``pytest`` and CI run: small sizes, quiet output (no progress bars, no
                 widgets).
* ``student`` -- the default: larger sizes, meant for a laptop CPU.
* ``full``    -- the largest sizes (all the data, long schedules), meant for a GPU.

How long each notebook takes in each profile is measured in its header and its "Expected
results" table, not promised here.

The profile is read from the environment variable ``COURSE_PROFILE``. Sizes that are
specific to one model are chosen with :meth:`Profile.pick`, so a notebook names its three
sizes in one line and the switch between them lives here, in one place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TypeVar

PROFILE_ENV = "COURSE_PROFILE"
DEFAULT_PROFILE = "student"

T = TypeVar("T")


@dataclass(frozen=True)
class Profile:
    """Sizes of one run profile.

    Attributes:
        name: ``"ci"``, ``"student"`` or ``"full"``.
        epochs: default number of passes over the training data (a notebook whose model needs
            other sizes names its own with :meth:`pick`).
        max_train_examples: cap on training examples (``None`` = the whole split).
        max_eval_examples: cap on held-out examples used for evaluation (``None`` = all).
        batch_size: default global batch size (summed over all replicas).
        show_progress: whether the training loop draws a progress bar.
        description: one line for humans.
    """

    name: str
    epochs: int
    max_train_examples: int | None
    max_eval_examples: int | None
    batch_size: int
    show_progress: bool
    description: str

    def pick(self, *, ci: T, student: T, full: T) -> T:
        """The value given for this profile, e.g. ``profile.pick(ci=1, student=10, full=50)``."""
        return {"ci": ci, "student": student, "full": full}[self.name]

    def subset(self, n: int, *, eval: bool = False) -> int:
        """How many of ``n`` available examples this profile uses (train or eval cap)."""
        cap = self.max_eval_examples if eval else self.max_train_examples
        return n if cap is None else min(n, cap)


PROFILES: dict[str, Profile] = {
    "ci": Profile(
        name="ci",
        epochs=1,
        max_train_examples=2_000,
        max_eval_examples=500,
        batch_size=64,
        show_progress=False,
        description="CI and pytest: small sizes, quiet output",
    ),
    "student": Profile(
        name="student",
        epochs=5,
        max_train_examples=20_000,
        max_eval_examples=5_000,
        batch_size=128,
        show_progress=True,
        description="default: larger sizes, meant for a laptop CPU",
    ),
    "full": Profile(
        name="full",
        epochs=30,
        max_train_examples=None,
        max_eval_examples=None,
        batch_size=128,
        show_progress=True,
        description="largest sizes: all the data, long schedules, meant for a GPU",
    ),
}


def get_profile(name: str | None = None) -> Profile:
    """Return the profile called ``name``, or the one named by ``$COURSE_PROFILE``.

    With neither, the default is ``student``. An unknown name raises ``ValueError``
    listing the valid ones (a typo must never silently fall back to another size).
    """
    if name is None:
        name = os.environ.get(PROFILE_ENV, "").strip() or DEFAULT_PROFILE
    key = name.strip().lower()
    if key not in PROFILES:
        valid = ", ".join(PROFILES)
        raise ValueError(
            f"Unknown course profile {name!r} (from {PROFILE_ENV} or the argument). "
            f"Valid profiles: {valid}. Example: {PROFILE_ENV}=ci pytest"
        )
    return PROFILES[key]
