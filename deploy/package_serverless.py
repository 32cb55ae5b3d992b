"""Build what the serverless transform needs (``make package``; ``--check`` for ``make package-check``).

``build/lambda/``: the container image context of the Lambda function — ``Dockerfile`` (from
``deploy/lambda/``), the project's wheel, ``requirements.txt`` pinned from ``requirements.lock``.
``build/glue/``: the Glue job script, the wheel, and ``job-arguments.json``: the default arguments of the
job (``--additional-python-modules`` with the same pins; the wheel's S3 location is a placeholder).

``--check`` also installs those requirements as the image and the job will (Linux x86-64 wheels for
Python 3.12 and 3.11) into ``build/check/``, reports their unpacked size, and, when a ``python3.12`` /
``python3.11`` is at hand, imports the entry points and stages an empty day with nothing but those
packages on the path (``-S``: no site-packages) — the proof that the function and the job have what they
import. It downloads wheels from the package index.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
# What the remote stage imports (spotify_assets.remote.staging and the transform), and boto3 for the Pipes S3
# channel. Pinned from requirements.lock.
REMOTE_PACKAGES = ["pyarrow", "numpy", "orjson", "dagster-pipes"]
BOTO = ["boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3"]
# Per target: the Python it runs and the packages it is given (Glue 5.0 brings boto3).
TARGETS = {
    "lambda": {"python": "3.12", "packages": REMOTE_PACKAGES + BOTO},
    "glue": {"python": "3.11", "packages": REMOTE_PACKAGES},
}
WHEEL_PLACEHOLDER = "s3://<artifacts bucket>/spotify_assets/"
LAMBDA_ZIP_LIMIT_MB = 250


def pins(names: list[str], lock: str) -> list[str]:
    """``name==version`` for each of ``names``, from the text of requirements.lock."""
    found = []
    for name in names:
        m = re.search(rf"^{re.escape(name)}==([^\s;#]+)", lock, flags=re.MULTILINE | re.IGNORECASE)
        if not m:
            raise SystemExit(f"{name} is not pinned in requirements.lock")
        found.append(f"{name}=={m.group(1)}")
    return found


def build_wheel() -> Path:
    out = BUILD / "wheel"
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(ROOT)],
        check=True,
    )
    (wheel,) = out.glob("spotify_assets-*.whl")
    return wheel


def bundle(target: str, source: Path, wheel: Path) -> Path:
    """A fresh ``build/<target>/`` holding ``source`` and the wheel."""
    out = BUILD / target
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    shutil.copy(source, out / source.name)
    shutil.copy(wheel, out / wheel.name)
    return out


def lambda_context(wheel: Path, requirements: list[str]) -> Path:
    out = bundle("lambda", ROOT / "deploy" / "lambda" / "Dockerfile", wheel)
    (out / "requirements.txt").write_text("\n".join(requirements) + "\n")
    return out


def glue_bundle(wheel: Path, requirements: list[str]) -> Path:
    out = bundle("glue", ROOT / "deploy" / "glue" / "transform_job.py", wheel)
    arguments = {
        "--additional-python-modules": ",".join([WHEEL_PLACEHOLDER + wheel.name, *requirements]),
        # the wheel's own dependencies are the Dagster side's (dagster, duckdb…): not wanted in the job
        "--python-modules-installer-option": "--no-deps",
        "--job-language": "python",
    }
    (out / "job-arguments.json").write_text(json.dumps(arguments, indent=2) + "\n")
    return out


SMOKE = r"""
import sys, tempfile
import spotify_assets.remote.lambda_handler as h, spotify_assets.remote.staging as r
try:
    h.handler({}, None)
except r.NotAPipesInvocation:
    pass
from spotify_assets.lake.storage import Lake
from spotify_assets.publish.wap import stage_day, summarize
lake = Lake(tempfile.mkdtemp())
staged = summarize(stage_day(lake, "2026-01-01", "smoke"))
assert staged.row_counts == dict.fromkeys(staged.tables, 0), staged.row_counts
bad = sorted({m.split(".")[0] for m in sys.modules} & {"dagster", "dagster_aws", "pandas", "duckdb", "spotipy"})
assert not bad, bad
print("ok", sys.version.split()[0])
"""


def _python(version: str) -> str | None:
    """An interpreter of ``version`` that runs (pyenv's shims exist for versions that are not selected)."""
    candidates = [shutil.which(f"python{version}")]
    candidates += [str(p / "bin" / "python3") for p in sorted((Path.home() / ".pyenv" / "versions").glob(f"{version}.*"))]
    for candidate in candidates:
        if candidate and subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0:
            return candidate
    return None


def check(target: str, python_version: str, requirements: list[str], wheel: Path) -> None:
    site = BUILD / "check" / target
    shutil.rmtree(site, ignore_errors=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(site), "--implementation", "cp",
         "--python-version", python_version, "--only-binary=:all:", "--platform", "manylinux_2_28_x86_64",
         "--platform", "manylinux_2_17_x86_64", "--platform", "manylinux2014_x86_64", *requirements],
        check=True,
    )
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
                    "--python-version", python_version, "--only-binary=:all:", str(wheel)], check=True)
    size = sum(f.stat().st_size for f in site.rglob("*") if f.is_file()) / 1e6
    verdict = ""
    if target == "lambda":
        verdict = f" ({'over' if size > LAMBDA_ZIP_LIMIT_MB else 'within'} the {LAMBDA_ZIP_LIMIT_MB} MB Lambda allows a .zip)"
    print(f"{target}: {size:.0f} MB unpacked for Python {python_version}{verdict}")
    python = _python(python_version)
    if python is None:
        print(f"{target}: no python{python_version} here; import check skipped")
        return
    env = {"PYTHONPATH": str(site), "PATH": os.environ.get("PATH", ""), "HOME": tempfile.gettempdir()}
    out = subprocess.run([python, "-S", "-c", SMOKE], env=env, capture_output=True, text=True, cwd=tempfile.gettempdir())
    if out.returncode != 0:
        raise SystemExit(f"{target}: the entry points fail with only the packaged modules:\n{out.stderr}")
    print(f"{target}: entry points import and stage a day with only the packaged modules ({out.stdout.strip()})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="install and smoke-test the packaged modules")
    args = parser.parse_args()
    lock = (ROOT / "requirements.lock").read_text()
    requirements = {target: pins(spec["packages"], lock) for target, spec in TARGETS.items()}
    wheel = build_wheel()
    lam, glue = lambda_context(wheel, requirements["lambda"]), glue_bundle(wheel, requirements["glue"])
    print(f"Lambda image context: {lam.relative_to(ROOT)}/ (docker build -t spotify-transform {lam.relative_to(ROOT)})")
    print(f"Glue job: {glue.relative_to(ROOT)}/ (script, wheel, job-arguments.json)")
    if args.check:
        for target, spec in TARGETS.items():
            check(target, spec["python"], requirements[target], wheel)

if __name__ == "__main__":
    main()
