"""pytest runs in the `ci` profile: quiet, small sizes, every notebook in about a minute.

Set here, before any test or notebook kernel starts, so both inherit it. A maintainer can
still run another profile on purpose: COURSE_PROFILE=student pytest chapters
"""

import os

os.environ.setdefault("COURSE_PROFILE", "ci")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # hide TensorFlow's C++ start-up chatter
os.environ.setdefault("MPLBACKEND", "Agg")
