"""The estimator framework every method builds on (private).

``base`` runs ``fit`` as a template over a method's hooks, and the public API;
``input`` checks, lays out and scales what users pass; ``rules`` resolves a method's
``"auto"`` defaults; ``inference`` reads a fitted module out in batches; ``session``
keeps one fit's progress (Ctrl-C, checkpoints); ``restarts`` runs ``n_init`` and
``consensus`` combines their partitions; ``feature_rows`` is what the methods do on
feature rows; ``docs`` holds the parameter text they share.  It imports from ``nn/`` and
``metrics`` only, never from a method, the data sets or the command.
"""
