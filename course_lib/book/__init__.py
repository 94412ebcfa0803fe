"""The executed course as an offline HTML site: ``python -m course_lib build``.

* :mod:`.execute` -- one notebook run in a fresh kernel, and its record (time, status, failure).
* :mod:`.cache` -- the execution cache: what a run's outputs depend on, and where they are kept.
* :mod:`.pages` -- the pages the build writes (index, execution report) and the links it fixes.
* :mod:`.render` -- the generated Sphinx project, Sphinx with MyST-NB, a local MathJax, the
  offline check.
* :mod:`.site` -- one build, step by step.
* :mod:`.options` -- what a build does and what it did, as data.
* :mod:`.command` -- the command's arguments and exit status.

Importing this package imports nothing else; the build needs the ``build`` extra (Sphinx,
MyST-NB, the Sphinx Book Theme, a local MathJax, nbclient).
"""
