from qcedge.cli import main

raise SystemExit(main())
