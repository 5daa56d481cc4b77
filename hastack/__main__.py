from hastack.cli import main

raise SystemExit(main())
