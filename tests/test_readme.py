from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _commands(text: str) -> list[str]:
    lines = text.splitlines()
    return [lines[i + 1] for i, line in enumerate(lines) if line.strip() == "```sh"]


def test_readme_opens_with_exactly_two_setup_commands_that_make_their_own_virtualenv():
    commands = _commands((ROOT / "README.md").read_text())
    assert len(commands) == 2
    assert all(c.startswith("python3 -m venv .venv && ") for c in commands)
    assert "seed_demo" in commands[0] and "127.0.0.1:8000" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_the_readme_test_command():
    test_command = _commands((ROOT / "README.md").read_text())[1]
    assert test_command in (ROOT / ".ci" / "run").read_text().splitlines()
