"""Markdown runbooks as guided steps: parse (markdown, sessions, placeholders, risk), load, and show as a playbook."""
