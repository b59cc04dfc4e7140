"""`python -m moderation` is the `moderation` command (what the web app's background audits run)."""

from moderation.cli import main

main()
