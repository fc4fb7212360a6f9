from depeg_monitor.cli import main

raise SystemExit(main())
