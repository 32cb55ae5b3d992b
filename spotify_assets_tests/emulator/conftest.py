"""Fixtures for the emulator tests: running emulators (both quota modes), tokens, a small HTTP
client, and an OpenAPI validator built from the shared Spotify spec (never copied into the repo)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import requests

from spotify_assets.emulator import EMULATOR_REFRESH_TOKEN
from spotify_assets_tests.emulation import TEST_DAY, emulator_factory, running_emulator

DAY = TEST_DAY
REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = REPO_ROOT.parent / "shared" / "spotify" / "spotify-openapi.yml"
# Fields development mode removes; the spec still lists some of them as required.
DEV_REMOVED = {"available_markets", "popularity", "followers"}
# Fields development mode may or may not send; the emulator drops them unless told to keep them.
DEV_DISPUTED = {"external_ids", "label", "linked_from", "album_group"}


class Api:
    """A keep-alive client for one emulator and one bearer token."""

    def __init__(self, server, token: str | None) -> None:
        self.server = server
        self.s = requests.Session()
        if token:
            self.s.headers["Authorization"] = f"Bearer {token}"

    def get(self, path: str, **params) -> requests.Response:
        url = path if path.startswith("http") else self.server.api_url + path.lstrip("/")
        return self.s.get(url, params=params or None, timeout=10)

    def ok(self, path: str, **params) -> dict:
        r = self.get(path, **params)
        assert r.status_code == 200, (path, r.status_code, r.text[:300])
        return r.json()

    def admin(self) -> dict:
        return self.s.get(self.server.base_url + "/_admin/catalog", timeout=10).json()


def get_token(server, grant: dict, auth=("emu-id", "emu-secret")) -> dict:
    r = requests.post(server.accounts_url + "/api/token", data=grant, auth=auth, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def user_api(server) -> Api:
    """An :class:`Api` for ``server`` with a demo-user token (refresh-token flow)."""
    return Api(server, get_token(server, {"grant_type": "refresh_token", "refresh_token": EMULATOR_REFRESH_TOKEN})["access_token"])


@pytest.fixture(scope="session")
def emu():
    """Shared tiny emulator, extended mode. Tests must not move its clock or reset its stats."""
    with running_emulator(mode="extended") as s:
        yield s


@pytest.fixture(scope="session")
def dev_emu():
    """Shared tiny emulator, development mode."""
    with running_emulator(mode="development") as s:
        yield s


@pytest.fixture(scope="session")
def dev_kept_emu():
    """Shared tiny emulator, development mode, keeping the disputed fields."""
    with running_emulator(mode="development", dev_keep_disputed_fields=True) as s:
        yield s


@pytest.fixture
def emu_factory():
    """Start private emulators with custom settings; all are stopped after the test."""
    yield from emulator_factory()


@pytest.fixture(scope="session")
def api(emu) -> Api:
    """Extended mode, demo-user token (refresh-token flow)."""
    return user_api(emu)


@pytest.fixture(scope="session")
def cc_api(emu) -> Api:
    """Extended mode, client-credentials token (no user)."""
    return Api(emu, get_token(emu, {"grant_type": "client_credentials"})["access_token"])


@pytest.fixture(scope="session")
def dev_api(dev_emu) -> Api:
    """Development mode, demo-user token."""
    return user_api(dev_emu)


@pytest.fixture(scope="session")
def dev_kept_api(dev_kept_emu) -> Api:
    """Development mode keeping the disputed fields, demo-user token."""
    return user_api(dev_kept_emu)


@pytest.fixture(scope="session")
def spec() -> dict:
    if not SPEC_PATH.exists():
        pytest.skip(f"Spotify OpenAPI spec not found at {SPEC_PATH} (expected ../shared/spotify/ next to the repo)")
    import yaml

    return yaml.safe_load(SPEC_PATH.read_text())


def _relax_required(node, removed: set[str]):
    """Drop ``removed`` from every ``required`` list, and drop ``discriminator``s: the spec's
    discriminators have no mapping, so the implicit one points at schemas named "track"/"episode"
    that do not exist; the surrounding ``oneOf`` still checks the object."""
    if isinstance(node, dict):
        node.pop("discriminator", None)
        if isinstance(node.get("required"), list):
            node["required"] = [r for r in node["required"] if r not in removed]
        for v in node.values():
            _relax_required(v, removed)
    elif isinstance(node, list):
        for v in node:
            _relax_required(v, removed)


def spec_relaxed_instance(obj):
    """Spotify really sends nulls the spec does not declare nullable (null tracks, added_by: null,
    local files with null ids, null entries in batch look-ups; in recently played, ``next`` and ``cursors``
    at the end of the history and ``context: null`` for a track played from no context). Strip exactly
    those before validating."""
    if isinstance(obj, list):
        return [spec_relaxed_instance(x) for x in obj if x is not None]
    if not isinstance(obj, dict):
        return obj
    out = {}
    is_item = "added_at" in obj and "is_local" in obj
    is_cursor_page = "cursors" in obj
    is_play = "played_at" in obj
    for k, v in obj.items():
        if is_item and k in ("track", "item") and (v is None or obj.get("is_local")):
            continue
        if is_item and k == "added_by" and v is None:
            continue
        if (is_cursor_page and k in ("cursors", "next") or is_play and k == "context") and v is None:
            continue
        out[k] = spec_relaxed_instance(v)
    return out


@pytest.fixture(scope="session")
def validate(spec):
    """validate(body, response_name, mode) checks a body against components/responses/<name>.

    ``mode``: "extended"; "development" (the emulator's default: the removed and the disputed fields may
    be absent); "development-kept" (only the removed ones may be absent, so the spec's required disputed
    fields must be there)."""
    from openapi_schema_validator import OAS30Validator

    relaxed = {"extended": set(), "development": DEV_REMOVED | DEV_DISPUTED, "development-kept": DEV_REMOVED}
    components = {mode: copy.deepcopy(spec["components"]) for mode in relaxed}
    for mode, removed in relaxed.items():
        _relax_required(components[mode], removed)

    def check(body, response: str, mode: str = "extended") -> None:
        comps = components[mode]
        schema = dict(comps["responses"][response]["content"]["application/json"]["schema"])
        schema["components"] = comps  # so "#/components/..." refs resolve against the spec
        validator = OAS30Validator(schema)
        errors = sorted(validator.iter_errors(spec_relaxed_instance(body)), key=lambda e: list(e.absolute_path))
        assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message[:300]}" for e in errors[:10])

    return check
