"""The core layer: named random streams, distributions, strategies as data, the topology.

May import: nothing else in ``sim``.
"""
