"""``python -m skdeepcluster``: the command (:mod:`skdeepcluster._cli.main`)."""

from ._cli.main import main

if __name__ == "__main__":
    main()
