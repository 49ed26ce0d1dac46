"""The reliability suite: fuzzing, leaks, faults and concurrency (issue #6).

Sizes of the ``soak`` variants scale with ``RXCLAUDE_SOAK_SCALE`` (see ``support``).
"""
