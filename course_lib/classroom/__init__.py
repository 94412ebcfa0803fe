"""Classroom assignments: graded exercises in nbgrader's format, student copies, releases,
grading, and an export to otter-grader.

The committed chapter notebooks are the *source* (instructor) versions: they hold working
solutions and hidden tests, so they run top to bottom. :mod:`.exercises` finds and checks the
exercises and writes their nbgrader metadata; :mod:`.student` makes a student copy without
nbgrader; :mod:`.nbgrader_course` releases and grades through nbgrader itself (the
``instructor`` extra); :mod:`.otter` exports the same exercises for otter-grader.
"""

from course_lib.classroom.exercises import (
    Exercise,
    ExerciseFormatError,
    find_exercises,
    metadata_problems,
    tag,
    total_points,
)
from course_lib.classroom.student import student_copy

__all__ = [
    "Exercise",
    "ExerciseFormatError",
    "find_exercises",
    "metadata_problems",
    "student_copy",
    "tag",
    "total_points",
]
