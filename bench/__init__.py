"""The project's benchmark: every target of the README's Performance section (P1-P6),
measured side by side.

A developer tool, not part of the installed package. Run it as ``python -m bench`` (or
``inv bench``) from the checkout; ``--quick`` for a short run, ``--only P1,P4`` for some figures,
``--json PATH`` to keep the results. Every figure is a ratio or a rate measured in one run,
alternating the two sides, so a noisy shared machine slows both alike.
"""
