"""The database of ``scripts/run.sh`` (built by ``scripts/demo_db.sh``) is a Portuguese
business: a new user can text Portuguese mobiles typed the way people write them.

``CGSMS_E2E_DEMO_DB`` names the database (default ``cgsms_e2e_demo``, ``cgsms_e2e_demo_19`` on
Odoo 19.0); with ``CGSMS_E2E_REUSE_DB=1`` an existing one is reused."""

import os
import subprocess

import pytest

from .conftest import SERIES
from .helpers import ROOT, Runner, db_exists, run_logged

DEMO_DB = os.environ.get("CGSMS_E2E_DEMO_DB") or (
    "cgsms_e2e_demo" if SERIES == "18.0" else f"cgsms_e2e_demo_{SERIES[:2]}"
)
REUSE = bool(os.environ.get("CGSMS_E2E_REUSE_DB"))


@pytest.fixture(scope="module")
def demo(project):
    env = project["env"]
    if not (REUSE and db_exists(env, DEMO_DB)):
        subprocess.run(["dropdb", "--if-exists", DEMO_DB], env=env, check=True)
        run_logged(
            project,
            ["bash", str(ROOT / "scripts" / "demo_db.sh"), DEMO_DB],
            "demo_db.log",
            f"scripts/demo_db.sh {DEMO_DB}",
        )
    runner = Runner(project["python"], DEMO_DB, env, project["log_dir"])
    yield runner.run("demo_facts")
    runner.close()
    if not REUSE:
        subprocess.run(["dropdb", "--if-exists", DEMO_DB], env=env, check=False)


def test_demo_company_is_a_portuguese_business_in_euro(demo):
    assert demo["country"] == "PT"
    assert demo["currency"] == "EUR"
    assert demo["chart_template"] == "pt"


def test_demo_has_english_and_portuguese_with_admin_in_portuguese(demo):
    assert {"en_US", "pt_PT"} <= set(demo["languages"])
    assert demo["admin_lang"] == "pt_PT"


def test_number_without_prefix_is_valid_and_the_same_as_its_plus_351_form(demo):
    assert demo["ana_mobile"] == "+351 912 345 678"
    targets = demo["targets"]
    assert targets[0] == {"raw": "+351 912 345 678", "e164": "+351912345678", "error_class": ""}
    # Typed without the prefix: the same number as the customer's, so sent once.
    assert targets[1] == {"raw": "912 345 678", "e164": "+351912345678", "error_class": "duplicate"}
    assert targets[2] == {"raw": "961000001", "e164": "+351961000001", "error_class": ""}


def test_express_message_reads_national_numbers_in_portugal(demo):
    express = demo["express"]
    assert [r["number"] for r in express] == ["+351912345678"] * 3
    assert [r["valid"] for r in express] == [True, False, False]
    assert {r["reason"] for r in express[1:]} == {"duplicate"}
