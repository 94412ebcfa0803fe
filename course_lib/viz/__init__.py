"""Figures and interactive explorers.

* :mod:`~course_lib.viz.plots` -- training curves, image grids, 2-D point clouds.
* :mod:`~course_lib.viz.widgets` -- explorers built with ipywidgets, with a static figure
  wherever widgets are off (the ``ci`` profile) or unavailable.
"""
