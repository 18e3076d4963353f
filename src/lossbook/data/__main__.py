"""`python -m lossbook.data`: load every split, downloading what is missing (see `datasets.main`)."""

import sys

from lossbook.data.datasets import main

sys.exit(main())
