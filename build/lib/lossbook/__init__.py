"""lossbook: the code that the chapters of *lossbook* teach and reuse.

Import modules by name, as the chapters do::

    from lossbook import data, runtime
"""

__version__ = "0.1.0"
