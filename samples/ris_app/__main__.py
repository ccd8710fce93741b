"""`python -m samples.ris_app`: start the simulated RIS window."""
from samples.ris_app.app import main

raise SystemExit(main())
