"""The model layer: the simulated world (nodes, network, faults) that records a history.

May import: ``sim.history``, ``sim.config``, ``sim.core``.
"""
