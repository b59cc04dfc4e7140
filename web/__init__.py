"""The moderation web app (Flask): form, JSON API, review queue and reports."""
