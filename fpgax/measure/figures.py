"""Figures: matplotlib, an optional dependency (``pip install 'fpgax[plot]'``), without a display."""

from fpgax.errors import FpgaxError


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend, or a clear error naming the extra to install."""
    try:
        import matplotlib
    except ImportError:
        raise FpgaxError("figures need matplotlib: pip install 'fpgax[plot]' (or leave out --plot)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
