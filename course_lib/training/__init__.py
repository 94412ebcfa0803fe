"""The course's one training loop (see :mod:`course_lib.training.trainer`).

* :class:`Objective`, :class:`Task`, :func:`supervised_task` -- what a model supplies.
* :class:`Trainer`, :class:`TrainConfig`, :class:`EarlyStopping` -- how it is trained.
* :class:`History`, :class:`Record` -- what a run measured.
* :func:`warmup_cosine` -- the learning-rate schedule of the course's GPTs.
* :class:`ModelCache`, :class:`CacheKey` -- trained models stored for other chapters to reuse.

Modules: ``task`` (objectives), ``config`` (settings), ``plan`` (how long a run is, its data
checked), ``trainer`` (the loop), ``update``
(one update, the same on one device and on many), ``replicas`` (batch split, sums and
counts), ``checkpointing``, ``early_stopping``, ``history``, ``schedules``, ``model_cache``.
"""

from course_lib.training.config import TrainConfig
from course_lib.training.early_stopping import EarlyStopper, EarlyStopping
from course_lib.training.history import History, Record
from course_lib.training.model_cache import CacheKey, ModelCache
from course_lib.training.replicas import batch_size, replica_slice
from course_lib.training.schedules import warmup_cosine
from course_lib.training.task import Objective, Task, supervised_task
from course_lib.training.trainer import Trainer

__all__ = [
    "CacheKey",
    "EarlyStopper",
    "EarlyStopping",
    "History",
    "ModelCache",
    "Objective",
    "Record",
    "Task",
    "TrainConfig",
    "Trainer",
    "batch_size",
    "replica_slice",
    "supervised_task",
    "warmup_cosine",
]
