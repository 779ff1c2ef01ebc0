"""``dlcourse doctor``: each check finds the problem it is for and says what to fix."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from dlcourse import doctor
from dlcourse.cli import main
from dlcourse.doctor import Finding


def _statuses(findings: list[Finding]) -> list[str]:
    return [f.status for f in findings]


@pytest.mark.parametrize(
    ("version", "spec", "ok"),
    [
        ((3, 11, 7), ">=3.10,<3.14", True),
        ((3, 10, 0), ">=3.10,<3.14", True),
        ((3, 9, 18), ">=3.10,<3.14", False),
        ((3, 14, 0), ">=3.10,<3.14", False),
        ((3, 13, 9), ">=3.10,<3.14", True),
        ((3, 12, 1), ">=3.8", True),
        ((3, 12, 1), "", True),
    ],
)
def test_python_version_against_requires_python(version: tuple, spec: str, ok: bool) -> None:
    findings = doctor.check_python(version, spec)
    assert _statuses(findings) == (["ok"] if ok else ["fail"])
    if not ok:
        assert spec in findings[0].message and "venv" in findings[0].fix


def test_python_spec_is_the_package_metadata() -> None:
    import importlib.metadata

    spec = importlib.metadata.metadata("dlcourse")["Requires-Python"]
    assert doctor._requires_python() == spec
    assert _statuses(doctor.check_python()) == ["ok"]  # this interpreter runs the tests


def test_blas_reported_from_threadpoolctl() -> None:
    libs = [{"user_api": "blas", "internal_api": "openblas", "version": "0.3.27",
             "num_threads": 4}]
    findings = doctor.check_numpy(libs)
    assert _statuses(findings) == ["ok", "ok"]
    assert "openblas 0.3.27" in findings[1].message and "4 threads" in findings[1].message


@pytest.mark.parametrize("libs", [[], [{"user_api": "blas", "internal_api": "netlib"}]])
def test_missing_or_reference_blas_is_a_warning_with_a_fix(libs: list) -> None:
    findings = doctor.check_numpy(libs)
    assert _statuses(findings) == ["ok", "warn"]
    assert "slower" in findings[1].message and "pip install" in findings[1].fix


def test_blas_of_this_numpy_is_found() -> None:
    libs = doctor._blas_libraries()  # numpy's wheels bundle OpenBLAS
    assert libs and _statuses(doctor.check_numpy(libs)) == ["ok", "ok"]


def test_matplotlib_backend_and_missing_matplotlib(monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib

    findings = doctor.check_matplotlib()
    assert _statuses(findings) == ["ok"] and matplotlib.get_backend() in findings[0].message
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    findings = doctor.check_matplotlib()
    assert _statuses(findings) == ["warn"] and "dlcourse[plot]" in findings[0].fix


def test_data_folder_that_does_not_exist_fails(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "nope"))
    monkeypatch.setenv("DLCOURSE_CACHE", str(tmp_path / "cache"))
    findings = doctor.check_data()
    bad = [f for f in findings if f.status == "fail"]
    assert len(bad) == 1 and str(tmp_path / "nope") in bad[0].message
    assert "DLCOURSE_DATA" in bad[0].fix
    missing = [f for f in findings if f.status == "warn"]
    assert [f.fix for f in missing] == [f"dlcourse data download {n}" for n in
                                        ("mnist", "fashion-mnist", "cifar-10", "airfoil")]


def test_present_dataset_and_unwritable_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    (data / "airfoil").mkdir(parents=True)
    (data / "airfoil" / "airfoil_self_noise.dat").write_text("1\t2\t3\t4\t5\t6\n")
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("DLCOURSE_DATA", str(data))
    monkeypatch.setenv("DLCOURSE_CACHE", str(blocker / "cache"))
    monkeypatch.setenv("DLCOURSE_OFFLINE", "1")
    findings = doctor.check_data()
    assert any(f.status == "ok" and f.message.startswith("airfoil: found") for f in findings)
    cache = [f for f in findings if "cache folder" in f.message]
    assert _statuses(cache) == ["fail"] and "DLCOURSE_CACHE" in cache[0].fix
    mnist = next(f for f in findings if f.message.startswith("mnist"))
    assert "DLCOURSE_OFFLINE" in mnist.fix


def test_grader_tree(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert set(_statuses(doctor.check_grader())) == {"ok"}  # this repository
    (tmp_path / "solutions").mkdir()
    (tmp_path / "tests" / "exercises").mkdir(parents=True)
    monkeypatch.setenv("DLCOURSE_ROOT", str(tmp_path))
    findings = doctor.check_grader()
    assert _statuses(findings) == ["fail", "fail"]
    assert "test_*.py" in findings[0].message and "exercises" in findings[1].message
    monkeypatch.setenv("DLCOURSE_ROOT", str(tmp_path / "elsewhere"))
    findings = doctor.check_grader()
    assert _statuses(findings) == ["fail"] and "DLCOURSE_ROOT" in findings[0].fix


def test_missing_pytest_timeout_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    real = doctor.importlib.util.find_spec
    monkeypatch.setattr(doctor.importlib.util, "find_spec",
                        lambda name: None if name == "pytest_timeout" else real(name))
    findings = doctor.check_grader()
    assert findings[-1].status == "fail" and "dlcourse[grade]" in findings[-1].fix


def test_exit_status_and_report() -> None:
    def fine() -> list[Finding]:
        return [Finding("a", "ok", "fine")]

    def warns() -> list[Finding]:
        return [Finding("b", "warn", "meh", "do this")]

    def fails() -> list[Finding]:
        return [Finding("c", "fail", "broken", "do that")]

    def crashes() -> list[Finding]:
        raise RuntimeError("boom")

    out = io.StringIO()
    assert doctor.run_doctor(out, [fine, warns]) == 0
    assert "[WARN] b: meh\n       fix: do this" in out.getvalue()
    out = io.StringIO()
    assert doctor.run_doctor(out, [fine, fails]) == 1
    assert "[FAIL] c: broken" in out.getvalue() and "1 problem(s)" in out.getvalue()
    out = io.StringIO()
    assert doctor.run_doctor(out, [crashes]) == 1
    assert "RuntimeError: boom" in out.getvalue()


def test_cli_doctor(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DLCOURSE_CACHE", str(tmp_path))
    monkeypatch.delenv("DLCOURSE_DATA", raising=False)
    assert main(["doctor"]) == 0  # missing datasets are warnings
    out = capsys.readouterr().out
    assert "[OK  ] python" in out and "[WARN] data: mnist" in out
    monkeypatch.setenv("DLCOURSE_DATA", str(tmp_path / "missing"))
    assert main(["doctor"]) == 1
    assert "fix: correct the path" in capsys.readouterr().out
