"""`python -m daozhang.cli …`: the `daozhang` command, for a process started from Python."""

from daozhang.cli import main

main()
