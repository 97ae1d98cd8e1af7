"""``python -m vidxai …`` runs the command line (same as the ``vidxai`` script)."""

from vidxai.cli import main

if __name__ == "__main__":
    main()
