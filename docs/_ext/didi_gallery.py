"""sphinx-gallery helpers for didi's documentation, named by their import path in conf.py."""

from sphinx_gallery.scrapers import matplotlib_scraper


def matplotlib_tight(block, block_vars, gallery_conf):
    """sphinx-gallery's matplotlib scraper, saving with ``bbox_inches="tight"``.

    The examples save their own figures that way: legends placed beside the axes
    would otherwise be cut off.
    """
    return matplotlib_scraper(block, block_vars, gallery_conf, bbox_inches="tight")
