"""The report layer: results frames and folders, statistics, charts, explanations.

May import: ``sim.experiment``, ``sim.check``, ``sim.history``, ``sim.config``, ``sim.core``
(never ``sim.model``: reports read recorded frames and verdicts only).
"""
