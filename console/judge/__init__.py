"""What a text will do, judged by real parsers before anything runs it: shell by tree-sitter-bash (`shell`, with its
command table `shell_rules` and the checks a row cannot say, `shell_tools`, `shell_wrappers`), SQL by PostgreSQL's
own parser (`sql`, pglast), and the placeholders in them (`placeholders`: found, typed, rewritten so a value is never
code). Runbook steps, script actions and the config use them; the parsers are imported only when a text is judged."""
