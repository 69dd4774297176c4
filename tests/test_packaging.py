"""What the wheel holds: every subpackage, the shipped model, the bundled mail."""

import tomllib

from helpers import ROOT

from triage.modelstore import CORPUS_DIR, DEFAULT_MODEL, HOLDOUT_DIR


def setuptools_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]


def test_every_subpackage_of_triage_is_packaged():
    """The package list is explicit (the model and the mail are mapped into the package),
    so a new subpackage must be added to it: this test says which."""
    on_disk = {".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / "triage").rglob("__init__.py")}
    listed = set(setuptools_config()["packages"])
    assert on_disk - listed == set()


def test_the_model_and_the_bundled_mail_are_mapped_into_the_package():
    config = setuptools_config()
    assert config["package-dir"] == {"triage.models": "models", "triage.data": "data"}
    assert DEFAULT_MODEL == ROOT / "models" / "default.npz"  # in a checkout: the top-level folder
    assert (CORPUS_DIR, HOLDOUT_DIR) == (ROOT / "data" / "corpus", ROOT / "data" / "holdout")
    assert {"corpus/**/*", "holdout/**/*"} == set(config["package-data"]["triage.data"])
