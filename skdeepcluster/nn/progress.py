"""Progress bars (tqdm's, on standard error) that draw in every terminal."""

import os
import sys

from tqdm.auto import tqdm

__all__ = ["progress_bar"]


def _zero_size_terminal():
    """(100, 24) where standard error is a terminal that says it has no size (tqdm would draw
    nothing: ptys without one, as ``script`` and some containers give); else None."""
    try:
        return None if os.get_terminal_size(sys.stderr.fileno()).columns else (100, 24)
    except (OSError, ValueError, AttributeError):  # not a terminal, or no file descriptor
        return None


def progress_bar(total, desc, unit, show, initial=0):
    """A tqdm bar of ``total`` ``unit`` named ``desc``, drawn only if ``show``.

    Where the terminal reports no size the bar is drawn 100 columns wide;
    elsewhere it follows the terminal's width.  The bar itself is 16
    characters, so what follows it (losses, say) is cut at the edge, not the bar.
    """
    size = _zero_size_terminal()
    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        unit=unit,
        disable=not show,
        leave=True,
        ncols=size and size[0],
        nrows=size and size[1],
        dynamic_ncols=size is None,
        bar_format="{l_bar}{bar:16}{r_bar}",
    )
