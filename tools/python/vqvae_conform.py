"""pytest plugin: `vqvae conform` inside the researchers' own pytest run, one test item per check.

From the root of a checkout of the baseline (the repository with the package `src`):

    PYTHONPATH=/path/to/vqvae/tools/python /usr/bin/python3 -m pytest -p vqvae_conform --vqvae-conform

runs conform once for the session through the baseline-API driver (seed_api_driver.py, beside this
file) and adds one item per check, named by its stable id and grouped by area
(`conform/trainer::trainer.evaluate.recon_loss`), so that -k, -x, --lf, -q/-v and --junitxml work
as for any test. A failure shows the check's detail (the case, the numbers against the definition)
and the command that reproduces it alone; a check that was skipped or is not applicable is a
skip with the reason; a check listed in the expect file is an xfail with its reason (strict when
asked), as pytest counts them.

Options (command line, or the same names with underscores in pytest.ini / pyproject.toml's
[tool.pytest.ini_options]: vqvae_bin, vqvae_conform_args, vqvae_expect, vqvae_driver,
vqvae_conform_strict; the command line wins):

    --vqvae-conform              run conform and add its checks (off: the plugin does nothing)
    --vqvae-bin PATH             the vqvae program (default: `vqvae` on PATH)
    --vqvae-conform-args ARGS    conform's configuration flags, as one shell-quoted string
                                 ("--codebook-size 1024 --quantizer rotation")
    --vqvae-expect FILE          known defects: lines `CHECK-ID: reason` (vqvae conform --expect)
    --vqvae-conform-strict       an expected failure that passes fails (xfail strict)
    --vqvae-driver CMD           the driver (default: this interpreter running seed_api_driver.py
                                 with --repo the pytest rootdir)

A missing or broken vqvae program, a driver that cannot run and an invalid option value are usage
errors: one line, pytest's exit status 4, no traceback.
"""
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD_HINT = "build it with `bash tools/setup.sh main` in the vqvae repository (it makes build/vqvae)"


def pytest_addoption(parser):
    group = parser.getgroup("vqvae-conform", "vqvae conform: the referee's checks as test items")
    group.addoption("--vqvae-conform", action="store_true", default=None,
                    help="run `vqvae conform` on this repository and add one item per check")
    group.addoption("--vqvae-bin", default=None, help="the vqvae program (default: vqvae on PATH)")
    group.addoption("--vqvae-conform-args", default=None,
                    help="conform's configuration flags, one shell-quoted string")
    group.addoption("--vqvae-expect", default=None, help="expect file: lines 'CHECK-ID: reason' (xfail)")
    group.addoption("--vqvae-conform-strict", action="store_true", default=None,
                    help="an expected failure that passes fails the run (xfail strict)")
    group.addoption("--vqvae-driver", default=None,
                    help="driver command (default: this Python running seed_api_driver.py --repo ROOTDIR)")
    parser.addini("vqvae_conform", "run vqvae conform (as --vqvae-conform)", type="bool", default=False)
    parser.addini("vqvae_bin", "the vqvae program", default="")
    parser.addini("vqvae_conform_args", "conform's configuration flags", default="")
    parser.addini("vqvae_expect", "expect file of known defects", default="")
    parser.addini("vqvae_conform_strict", "xfail strict for expected failures", type="bool", default=False)
    parser.addini("vqvae_driver", "driver command", default="")


def option(config, name):
    """The command line's value, else the ini file's: a relative expect file, or a program path with
    a folder in it, is relative to the ini file (a bare program name is looked up on PATH)."""
    value = config.getoption("--" + name.replace("_", "-"))
    if value is not None:
        return value
    value = config.getini(name)
    relative = value and isinstance(value, str) and not os.path.isabs(value) and config.inipath
    if relative and (name == "vqvae_expect" or (name == "vqvae_bin" and os.sep in value)):
        value = os.path.join(os.path.dirname(str(config.inipath)), value)
    return value


def pytest_configure(config):
    config.addinivalue_line("markers", "fix(n): the vqvae conform check guards fix #n of BASELINE_FIXES.md")
    if option(config, "vqvae_conform"):
        config.pluginmanager.register(ConformSession(config), "vqvae-conform-session")


def repository(config):
    """The checkout under test: pytest's rootdir when it holds the package src, else the folder
    pytest runs in (an option value such as `--vqvae-bin build/vqvae`, given apart from its flag,
    can move pytest's rootdir: `--vqvae-bin=build/vqvae` does not)."""
    for folder in (str(config.rootpath), str(config.invocation_params.dir)):
        if os.path.isdir(os.path.join(folder, "src")):
            return folder
    return str(config.invocation_params.dir)


class CheckFailed(Exception):
    """A check of conform failed: its report entry."""


class ConformArea(pytest.Collector):
    """The checks of one area (conform/<area>)."""

    def collect(self):
        return []


def numbers_line(n):
    """One failed comparison in a line: 'z_q[3, 1]: theirs 0.5, ours 0.25 (the definition); |difference|
    0.25 > tolerance 1e-05; 4 of 64 elements outside'."""
    if n["theirs_shape"] != n["ours_shape"]:
        return f"{n['quantity']}: shape {n['theirs_shape']}, ours {n['ours_shape']} ({n['ours_is']})"
    def g(value):  # 6 significant digits; null is a number that is not finite (NaN or inf)
        return "not finite" if value is None else f"{value:.6g}"
    where = "[" + ", ".join(str(i) for i in n["element"]) + "]" if n["element"] else ""
    line = (f"{n['quantity']}{where}: theirs {g(n['theirs'])}, ours {g(n['ours'])} ({n['ours_is']}); "
            f"|difference| {g(n['difference'])} > tolerance {g(n['tolerance'])}")
    if n["elements"] > 1:
        line += f"; {n['outside']} of {n['elements']} elements outside"
    return line


class ConformCheck(pytest.Item):
    def __init__(self, *, check, reproduce, **kwargs):
        super().__init__(**kwargs)
        self.check = check
        self.reproduce = reproduce
        if check.get("fix"):
            self.add_marker(pytest.mark.fix(check["fix"]))

    def runtest(self):
        status = self.check["status"]
        if status == "failed":
            raise CheckFailed(self.check)
        if status in ("skipped", "not_applicable"):
            pytest.skip(("not applicable: " if status == "not_applicable" else "") + self.check["detail"])

    def repr_failure(self, excinfo, style=None):
        if not isinstance(excinfo.value, CheckFailed):
            return super().repr_failure(excinfo, style)
        c = self.check
        fix = f" (guards fix #{c['fix']} of BASELINE_FIXES.md)" if c.get("fix") else ""
        lines = [f"{c['id']}: {c['name']}{fix}"]
        # Every failing case with its numbers where it compared values (the JSON's failed_cases);
        # the detail alone when the report has none.
        for case in c.get("failed_cases") or [{"detail": c["detail"], "numbers": None}]:
            lines.append(f"  {case['detail']}")
            if case.get("numbers"):
                lines.append(f"    {numbers_line(case['numbers'])}")
        lines.append(f"  reproduce: {self.reproduce}")
        return "\n".join(lines)

    def reportinfo(self):
        return self.path, None, f"vqvae conform {self.check['id']}"


class ConformSession:
    """One conform run for the session, made at collection: its checks become the items."""

    def __init__(self, config):
        self.config = config
        self.report = None
        self.seconds = 0.0

    def command(self, extra, expectations=True):
        """vqvae conform with the session's flags and driver, then `extra`; without the expect file
        and --strict when `expectations` is false (a reproduction shows the failure itself)."""
        config = self.config
        binary = option(config, "vqvae_bin") or shutil.which("vqvae")
        if not binary:
            raise pytest.UsageError(f"vqvae conform: no vqvae program on PATH and no --vqvae-bin: {BUILD_HINT}")
        if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
            raise pytest.UsageError(f"vqvae conform: --vqvae-bin {binary}: not an executable file ({BUILD_HINT})")
        try:
            args = shlex.split(option(config, "vqvae_conform_args") or "")
        except ValueError as error:
            raise pytest.UsageError(f"vqvae conform: --vqvae-conform-args: {error}")
        driver = option(config, "vqvae_driver") or (
            f"{shlex.quote(sys.executable)} {shlex.quote(os.path.join(HERE, 'seed_api_driver.py'))} "
            f"--repo {shlex.quote(repository(config))}")
        expect = option(config, "vqvae_expect")
        if expect and expectations:
            args += ["--expect", expect]
        if option(config, "vqvae_conform_strict") and expectations:
            args += ["--strict"]
        return [binary, "conform", *args, "--driver", driver, *extra]

    def run(self):
        command = self.command(["--json"])
        start = time.monotonic()
        try:
            result = subprocess.run(command, capture_output=True, text=True)
        except OSError as error:
            raise pytest.UsageError(f"vqvae conform: cannot run {command[0]}: {error} ({BUILD_HINT})")
        self.seconds = time.monotonic() - start
        if result.returncode not in (0, 1):
            line = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}, nothing on stderr"])[-1]
            raise pytest.UsageError(f"vqvae conform: {line}")
        try:
            self.report = json.loads(result.stdout)
        except ValueError:
            raise pytest.UsageError(f"vqvae conform: {command[0]} did not print a JSON report (exit status "
                                    f"{result.returncode}); is it vqvae?")

    def reproduce(self, check_id):
        keep = os.path.join(tempfile.gettempdir(), "conform-" + check_id)
        return " ".join(shlex.quote(part) for part in self.command(["--only", check_id, "--keep", keep], expectations=False))

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session, config, items):
        self.run()  # once for the session (with --collect-only too: the checks are the items)
        strict = bool(option(config, "vqvae_conform_strict"))
        areas = {}
        for check in self.report["checks"]:
            area = check["area"]
            if area not in areas:
                areas[area] = ConformArea.from_parent(session, name=area, nodeid="conform/" + area)
            item = ConformCheck.from_parent(areas[area], name=check["id"], check=check, reproduce=self.reproduce(check["id"]))
            if check.get("expected_failure"):
                item.add_marker(pytest.mark.xfail(reason=check["expected_failure"], strict=strict, raises=CheckFailed))
            items.append(item)

    def pytest_report_header(self, config):
        return [f"vqvae conform: {' '.join(shlex.quote(p) for p in self.command([]))}"]

    def pytest_terminal_summary(self, terminalreporter):
        if self.report is not None:
            terminalreporter.write_line(
                f"vqvae conform: {len(self.report['checks'])} checks, {self.report['cases']} cases by "
                f"{self.report['driver_name']} in {self.seconds:.1f} s (driver {self.report['driver_seconds']:.1f} s)")
