"""Secrets never in argv, in a summary split by quoting, in a validation error, or in clear because they are short."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from actions.base import ParamError
from actions.registry import build_runner
from console import config as cfg
from console.config import ConfigError

TAKE = Path(__file__).parent / "fixtures" / "take-input"


def load(tmp_path: Path, body: str, environ: dict[str, str] | None = None) -> cfg.Config:
    path = tmp_path / "config.toml"
    path.write_text(f'[console]\nenvironment = "staging"\njournal = "{tmp_path / "journal.jsonl"}"\n{body}')
    return cfg.load(path, environ=environ or {}, warn=False)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[actions.notify]\ncommand = ["curl", "-d", "x", "${HOOK}"]\n',
            'line 5: actions.notify.command[3]: ${HOOK} would put a secret on the command line, where every local '
            "user can read it (ps, /proc/PID/cmdline): pass it in the environment instead "
            '(env = { HOOK = "${HOOK}" }, read by the command as $HOOK), or on standard input (stdin = "...")',
        ),
        (
            '[[metric]]\nname = "m"\ncommand = ["probe", "--key=${HOOK}"]\n',
            "metric[0].command[1]: ${HOOK} would put a secret on the command line",
        ),
        (
            '[[logs]]\nname = "l"\ncommand = ["tail-remote", "${HOOK}"]\n',
            "logs[0].command[1]: ${HOOK} would put a secret on the command line",
        ),
        (
            '[actions.login]\ncommand = ["login", "--password={pw}"]\nparams = { pw = { secret = true } }\n',
            "actions.login: command[1] puts the secret param {pw} on the command line, where every local user can "
            'read it (ps, /proc/PID/cmdline): pass it on standard input (stdin = "{pw}", e.g. with `curl -K -` or '
            '`-H @-`) or in the environment (env = { PW = "{pw}" })',
        ),
    ],
)
def test_a_secret_on_a_command_line_is_a_config_error_that_says_how_to_pass_it(
    tmp_path: Path, body: str, message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load(tmp_path, body, {"HOOK": "https://hooks.example/T0/B0/s3cr3t"})
    assert message in str(error.value)
    assert "s3cr3t" not in str(error.value)


async def test_a_secret_with_a_quote_is_masked_in_the_summary_and_the_preview(tmp_path: Path) -> None:
    secret = "it's-a-s3cret"
    config = load(
        tmp_path,
        f'[actions.take]\ncommand = ["{TAKE}", "{tmp_path / "got.json"}", "{{name}}"]\nstdin = "{{token}}"\n'
        'params = { token = { secret = true }, name = "n" }\n',
    )
    runner = build_runner(config)
    plan = await runner.plan("take", {"token": secret, "name": f"x {secret} y"})
    shown = plan.summary + json.dumps(plan.rows) + "\n".join(plan.preview_lines())
    assert secret not in shown and "s3cret" not in shown
    assert "***" in plan.summary


async def test_a_secret_that_fails_validation_is_never_echoed(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        '[actions.take]\ncommand = ["true"]\nstdin = "{pin}"\n'
        'params = { pin = { secret = true, pattern = "[0-9]{4}" } }\n',
    )
    runner = build_runner(config)
    with pytest.raises(ParamError) as error:
        await runner.plan("take", {"pin": "MyRealPassw0rd"})
    assert "MyRealPassw0rd" not in str(error.value)
    assert "take: --pin: String should match pattern" in str(error.value)
    assert "(the value given is secret: not shown)" in str(error.value)


async def test_a_short_secret_is_masked_and_the_config_warns(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        '[actions.take]\ncommand = ["echo", "done"]\nenv = { PIN = "${PIN}" }\nrisk = "read"\n',
        {"PIN": "7Qz"},
    )
    assert config.warnings == (
        f"{tmp_path / 'config.toml'}: ${{PIN}} is 3 characters long: it is masked as *** wherever those characters "
        "appear, which hides ordinary text too; use a longer secret",
    )
    runner = build_runner(config)
    plan = await runner.plan("take", {})
    assert "7Qz" not in json.dumps(plan.rows) and ["env PIN", "***"] in plan.rows


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ('["sh", "-c", "echo peek {x}"]', "command[2] puts {x} inside the code sh runs: a value would be read as code"),
        ('["sudo", "bash", "-lc", "ls {x}"]', "command[3] puts {x} inside the code bash runs"),
        ('["kubectl", "exec", "api-0", "--", "sh", "-c", "cat {x}"]', "command[6] puts {x} inside the code sh runs"),
        ('["docker", "compose", "exec", "app", "python3", "-c", "print({x})"]', "inside the code python3 runs"),
        ('["psql", "-c", "select * from t where id = {x}"]', "inside the SQL psql -c runs: a value would be read"),
        ('["ssh", "-p", "22", "bastion", "tail", "{x}"]', "in the command ssh sends to the remote shell"),
    ],
)
def test_a_placeholder_inside_code_another_program_interprets_is_a_config_error(
    tmp_path: Path, command: str, message: str
) -> None:
    with pytest.raises(ConfigError) as error:
        load(tmp_path, f'[actions.peek]\ncommand = {command}\nparams = {{ x = "a value" }}\nrisk = "read"\n')
    assert message in str(error.value)


async def test_a_value_passed_to_sh_c_as_an_argument_is_never_run_and_the_preview_says_who_reads_code(
    tmp_path: Path,
) -> None:
    config = load(
        tmp_path,
        '[actions.peek]\ncommand = ["sh", "-c", "echo peek \\"$1\\"", "sh", "{x}"]\nparams = { x = "a value" }\n'
        'risk = "read"\n',
    )
    runner = build_runner(config)
    plan = await runner.plan("peek", {"x": f"$(touch {tmp_path / 'pwned'})"})
    assert any("the code sh runs is fixed in the config" in note for note in plan.notes)
    assert not any("no shell" in note for note in plan.notes)
    outcome = await runner.execute(plan, confirmed=True)
    assert outcome.output_tail == [f"peek $(touch {tmp_path / 'pwned'})"]
    assert not (tmp_path / "pwned").exists()
