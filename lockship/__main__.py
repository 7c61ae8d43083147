from lockship.cli import main

raise SystemExit(main())
