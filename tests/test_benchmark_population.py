"""The benchmark population (benchmarks/population.py): the search terms peer.py reports
as "0, 1, 20, 100 and all hits" must hit exactly that many users at any size, spread
over the e-mail order, and both sides of the peer benchmark must get the same users."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from population import SEARCH_TERMS, Population


def matches(population, term):
    out = []
    for i in range(population.users):
        person = population.person(i)
        haystack = f"{person['email']} {person['name']} {person['username']}".lower()
        if term in haystack:
            out.append(person["email"])
    return out


@pytest.mark.parametrize("users", [2_000, 10_000])
def test_terms_hit_the_stated_number_of_users(users):
    population = Population(users, 100)
    for term, hits in SEARCH_TERMS.items():
        assert len(matches(population, term)) == (users if hits is None else hits), term


def test_hits_are_spread_over_the_email_order():
    population = Population(10_000, 100)
    emails = sorted(population.person(i)["email"] for i in range(10_000))
    position = {email: n for n, email in enumerate(emails)}
    spots = sorted(position[e] for e in matches(population, "okonkwo"))
    # 100 hits over 10,000 rows: none of the quarters of the table is without hits
    quarters = {spot * 4 // 10_000 for spot in spots}
    assert quarters == {0, 1, 2, 3}
    assert spots[0] < 1_000 and spots[-1] > 9_000


def test_memberships_are_the_same_for_both_sides_and_group_zero_has_300():
    first = list(Population(9_000, 50).memberships())
    second = list(Population(9_000, 50).memberships())
    assert first == second
    assert sum(0 in groups for _, groups in first) == 300
    assert all(len(set(groups)) == len(groups) for _, groups in first)


def test_edit_target_is_an_ordinary_user_outside_group_zero():
    population = Population(10_000, 100)
    i = population.edit_target()
    assert not population.person(i)["administrator"]
    assert i % population.step != 0
