"""`python -m lossbook train ...`: the command-line runner (see `lossbook.cli`)."""

import sys

from lossbook.cli import main

if __name__ == "__main__":
    sys.exit(main())
