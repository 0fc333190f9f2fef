"""The core layer: named random streams, distributions, strategies as data, the topology, event
ids and the tables keyed by them, how worker processes start.

May import: nothing else in ``sim``.
"""
