"""The course's one training loop (see :mod:`course_lib.training.trainer`).

* :class:`Objective`, :class:`Task`, :func:`supervised_task` -- what a model supplies.
* :class:`Trainer`, :class:`TrainConfig`, :class:`EarlyStopping` -- how it is trained.
* :class:`History`, :class:`EpochRecord` -- what a run measured.
"""

from course_lib.training.config import EarlyStopping, TrainConfig
from course_lib.training.history import EpochRecord, History
from course_lib.training.replicas import batch_size, replica_slice
from course_lib.training.task import Objective, Task, supervised_task
from course_lib.training.trainer import Trainer

__all__ = [
    "EarlyStopping",
    "EpochRecord",
    "History",
    "Objective",
    "Task",
    "TrainConfig",
    "Trainer",
    "batch_size",
    "replica_slice",
    "supervised_task",
]
