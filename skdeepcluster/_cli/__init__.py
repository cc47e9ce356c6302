"""The command ``python -m skdeepcluster`` (private): ``main`` parses and runs it, ``report``
writes a folder's results.  It stands above everything else and nothing imports it but the
benchmarks."""
