"""`python -m lossbook train ...` (`lossbook.cli`), `python -m lossbook check PATH...` (`lossbook.check`)."""

import sys

if __name__ == "__main__":
    if sys.argv[1:2] == ["check"]:
        from lossbook import check

        sys.exit(check.main(sys.argv[2:]))
    from lossbook.cli import main

    sys.exit(main())
