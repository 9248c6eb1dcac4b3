"""`python -m cxplan`: the command line, as `cxplan` (and `python -m cxplan.cli`) run it."""

from cxplan.cli import console

if __name__ == "__main__":
    console()
