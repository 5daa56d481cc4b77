# `python -m hastack`: the commands live above components/ (commands/), the core below it.
from commands.cli import main

raise SystemExit(main())
