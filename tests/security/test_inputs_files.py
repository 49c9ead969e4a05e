"""Bad input files are exit 2 with file:line, never a crash (exit 3) or a hang."""

from __future__ import annotations

from pathlib import Path

import pytest

from rb.errors import UsageError
from rb.service.inputs import secrets_from

from ..conftest import run_rb
from .inputs_project import FIXTURE, project

PACK = """\
scenarios:
  - name: Hello
    fixture: fixtures/hello.yaml
    expected:
      status: success
      golden: {golden}
"""


def test_a_fixture_that_is_not_utf8_is_refused_at_its_line(tmp_path: Path) -> None:
    cwd = project(tmp_path)
    (cwd / "fixtures" / "hello.yaml").write_bytes(FIXTURE.encode().replace(b"hello]", b"h\xffllo]"))
    done = run_rb("test", "hello", "--fixture", "fixtures/hello.yaml", cwd=cwd)
    assert done.returncode == 2, done.stderr
    assert "fixtures/hello.yaml:2: the fixture is not UTF-8 text" in done.stderr


@pytest.mark.parametrize("value", [".inf", ".nan"])
def test_a_fixture_latency_that_is_not_finite_is_refused(tmp_path: Path, value: str) -> None:
    fixture = FIXTURE.replace("response: {", f"response: {{latency_seconds: {value}, ")
    cwd = project(tmp_path, fixture=fixture)
    done = run_rb("test", "hello", "--fixture", "fixtures/hello.yaml", cwd=cwd)
    assert done.returncode == 2, done.stderr
    assert "fixtures/hello.yaml:3:33: error RB013 latency_seconds is" in done.stderr
    assert "only finite numbers are allowed" in done.stderr


def test_a_secrets_file_that_is_not_utf8_is_refused_without_showing_it(tmp_path: Path) -> None:
    path = tmp_path / "secrets.env"
    path.write_bytes(b"A=fine\nTOKEN=s\xe9cret\n")
    with pytest.raises(UsageError) as caught:
        secrets_from({}, str(path))
    assert str(caught.value) == f"{path}:2: the secrets file is not UTF-8 text; save it as UTF-8"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "expected/hello.json:1:1: golden file is empty"),
        ('{"outputs": ', "expected/hello.json:1:13: golden file is not valid JSON"),
    ],
    ids=["empty", "invalid"],
)
def test_an_empty_or_invalid_golden_file_is_refused_at_its_line(
    tmp_path: Path, content: str, message: str
) -> None:
    cwd = project(tmp_path)
    (cwd / "expected").mkdir()
    (cwd / "expected" / "hello.json").write_text(content)
    done = run_rb("test", "hello", "--fixture", "fixtures/hello.yaml", cwd=cwd)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "--update" in done.stderr


@pytest.mark.parametrize("golden", ["../../../../../../etc/passwd", "/etc/passwd"])
def test_an_acceptance_golden_path_outside_the_project_is_refused(
    tmp_path: Path, golden: str
) -> None:
    cwd = project(tmp_path)
    (cwd / "acceptance" / "hello").mkdir(parents=True)
    (cwd / "acceptance" / "hello" / "acceptance.yml").write_text(PACK.format(golden=golden))
    done = run_rb("acceptance", "hello", cwd=cwd)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "acceptance.yml:6:15:" in done.stderr
    assert f"golden file {golden} is outside the project folder" in done.stderr
    assert "root:" not in done.stdout + done.stderr


def test_a_runbook_that_is_not_utf8_is_rb001_at_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "runbook.yaml"
    path.write_bytes(b'id: ok\nname: caf\xe9\nversion: "1"\n')
    done = run_rb("validate", str(path), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert f"{path}:2:1: error RB001 not UTF-8 text" in done.stdout


def test_an_acceptance_pack_that_is_not_utf8_is_refused_at_its_line(tmp_path: Path) -> None:
    cwd = project(tmp_path)
    (cwd / "acceptance" / "hello").mkdir(parents=True)
    pack = cwd / "acceptance" / "hello" / "acceptance.yml"
    pack.write_bytes(PACK.format(golden="x.json").encode().replace(b"Hello", b"H\xe9llo"))
    done = run_rb("acceptance", "hello", cwd=cwd)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "acceptance/hello/acceptance.yml:2: the acceptance pack is not UTF-8 text" in done.stderr
