"""The error catalog is complete: every code defined or raised anywhere in the engine has what it means,
what to do and who acts first — so a new code cannot be added without them — and the catalog names no
code that nobody defines. ``define()`` keeps its three-argument form and takes the guidance inline too."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from channelsync import error_catalog
from channelsync.errors import CATALOG, RESPONDERS, Guidance, define

PACKAGE = Path(error_catalog.__file__).resolve().parent
# A literal code given to an error (``code = "X"``, ``code="X"``) instead of a define() call's result.
_LITERAL = re.compile(r"""\bcode\s*=\s*["']([A-Z][A-Z0-9_]+)["']""")


@pytest.fixture(scope="module")
def catalog() -> dict[str, object]:
    return dict(error_catalog.load_definitions())


def raised_literals() -> dict[str, str]:
    """Codes written as string literals in the engine's sources (the emulators aside) → where."""
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "sandbox":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for code in _LITERAL.findall(line):
                found.setdefault(code, f"{relative}:{number}")
    return found


def test_the_catalog_is_loaded_from_every_declaring_module(catalog: dict[str, object]) -> None:
    modules = error_catalog.declaring_modules()
    assert "channelsync.clients.autotask.errors" in modules and "channelsync.templates.health.probe" in modules
    assert not any(name.startswith("channelsync.sandbox") for name in modules)
    assert len(catalog) > 150  # every client, validator, template and the engine itself


def test_every_defined_code_says_what_it_means_what_to_do_and_who_acts_first(catalog: dict[str, object]) -> None:
    missing = sorted(code for code, definition in CATALOG.items() if definition.advice() is None)
    assert missing == [], (f"codes without guidance: {missing} — add them to channelsync/error_catalog.py "
                           "(or give explanation/action/first_responder/rerun_fixes to their define())")
    for code, definition in CATALOG.items():
        advice = definition.advice()
        assert isinstance(advice, Guidance)
        assert len(advice.explanation) >= 30 and len(advice.action) >= 15, code
        assert advice.first_responder in RESPONDERS, code
        assert isinstance(advice.rerun_fixes, bool), code
        assert definition.explanation and definition.action and definition.first_responder  # as the UI reads them


def test_every_code_raised_as_a_literal_is_in_the_catalog(catalog: dict[str, object]) -> None:
    literals = raised_literals()
    assert "LOAD_INCOMPLETE" in literals  # the scan sees them
    unknown = {code: where for code, where in literals.items() if code not in CATALOG}
    assert unknown == {}, f"codes raised but not defined (define() them and add their guidance): {unknown}"


def test_the_catalog_names_no_code_that_nobody_defines(catalog: dict[str, object]) -> None:
    assert sorted(set(error_catalog.GUIDANCE) - set(CATALOG)) == []


def test_the_manuals_problems_have_codes_with_the_first_responder_they_name(catalog: dict[str, object]) -> None:
    """The seed manuals' troubleshooting tables, as channelsync codes."""
    expected = {
        "AUTOTASK_USER_LOCKED": "PSA admin",  # "The AutoTask API User is locked. How do I unlock it?"
        "AUTOTASK_AUTH_FAILED": "PSA admin",  # "Unauthorized": credentials changed, user locked, security level
        "AUTOTASK_PERMISSION": "PSA admin",  # permission denied: module permissions, line of business
        "CW_AUTH_FAILED": "PSA admin",  # "API Connection Failed": expired API keys
        "AUTOTASK_DUPLICATE_SERVICE": "PSA admin",  # "Violation of UNIQUE KEY constraint 'IX_service'"
        "CONTRACT_DATE_OUTSIDE": "MSP billing/finance",  # "effectiveDate must be between the start date and end"
        "TDS_SERVER_ERROR": "distributor support",  # TD SYNNEX system issues
        "ORDER_INVALID": "PSA admin",  # order validation failures: the PO is fixed in the PSA and resubmitted
        "BILLING_SERVICE_MISSING": "data engineer",  # "Could not find source product": retired products
        "UNEXPECTED_ERROR": "channelsync operator",  # "An unexpected error occurred"
    }
    assert {code: CATALOG[code].first_responder for code in expected} == expected
    assert "uncheck Locked" in str(CATALOG["AUTOTASK_USER_LOCKED"].action)
    assert CATALOG["AUTOTASK_UNREACHABLE"].rerun_fixes is True and CATALOG["ORDER_INVALID"].alert_channel == "email"


def test_an_unknown_code_gets_the_unexpected_error_guidance() -> None:
    assert error_catalog.advice("KeyError") == error_catalog.GUIDANCE[error_catalog.UNEXPECTED_ERROR]
    assert error_catalog.advice(None).first_responder == "channelsync operator"


def test_define_keeps_its_three_argument_form_and_takes_guidance_inline() -> None:
    try:
        assert define("TEST_CATALOG_PLAIN", "test", "A test code") == "TEST_CATALOG_PLAIN"
        assert CATALOG["TEST_CATALOG_PLAIN"].advice() is None  # what the completeness test catches
        define("TEST_CATALOG_INLINE", "test", "A test code with its guidance", explanation="What it means here.",
               action="What to do about it.", first_responder="PSA admin", rerun_fixes=False, alert="email")
        inline = CATALOG["TEST_CATALOG_INLINE"]
        assert (inline.explanation, inline.first_responder, inline.rerun_fixes, inline.alert_channel) == (
            "What it means here.", "PSA admin", False, "email")
        define("TEST_CATALOG_INLINE", "test", "Imported again")  # a module imported twice keeps its guidance
        assert CATALOG["TEST_CATALOG_INLINE"].first_responder == "PSA admin"
        with pytest.raises(ValueError, match="together"):
            define("TEST_CATALOG_HALF", "test", "Half", explanation="Only this.")
        with pytest.raises(ValueError, match="first responder"):
            define("TEST_CATALOG_WHO", "test", "Who", explanation="x", action="y",
                   first_responder="the intern", rerun_fixes=True)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="already defined"):
            define("TEST_CATALOG_PLAIN", "other", "Same code, other system")
    finally:
        for code in [c for c in CATALOG if c.startswith("TEST_CATALOG_")]:
            del CATALOG[code]


def test_the_ui_reads_the_richer_fields_through_the_same_attributes(catalog: dict[str, object]) -> None:
    from channelsync.ui.catalog import describe

    entry = describe("AUTOTASK_USER_LOCKED")
    assert entry is not None and entry.known
    assert (entry.first_responder, entry.rerun_fixes) == ("PSA admin", True)
    assert entry.explanation == CATALOG["AUTOTASK_USER_LOCKED"].explanation
    assert entry.action == CATALOG["AUTOTASK_USER_LOCKED"].action


def test_guidance_is_written_once_per_code_in_the_catalog_file() -> None:
    """No key repeated in GUIDANCE's literal (a later one would silently win)."""
    tree = ast.parse(Path(error_catalog.__file__).read_text(encoding="utf-8"))
    keys = [node.value for assign in ast.walk(tree) if isinstance(assign, ast.AnnAssign)
            and getattr(assign.target, "id", None) == "GUIDANCE" and isinstance(assign.value, ast.Dict)
            for node in assign.value.keys if isinstance(node, ast.Constant)]
    assert keys and len(keys) == len(set(keys))
