"""The benchmark population, shared by both sides of ``peer.py`` (the panel's data in
``generate_access_data.py``, the peer's in ``peer_data.py``): who the users are, which
groups they are in, and the search terms with known numbers of hits.

No Django here: plain functions of the user's index, so both sides get the same names,
e-mails, memberships and audit trail, and a million users never sit in memory.

Search terms hit a fixed number of users at any size, **spread** across the table: user
``i`` carries a token chosen by ``spread_rank(i)``, a multiplicative permutation of the
indexes, so the hits of a term lie all over the e-mail order (a LIMIT scan cannot stop
early by luck)."""

from __future__ import annotations

import math
import random

FIRST = [
    "ada",
    "alan",
    "amara",
    "bruno",
    "carla",
    "chen",
    "dario",
    "elena",
    "farid",
    "greta",
    "hana",
    "ivan",
    "jonas",
    "kavya",
    "lena",
    "marco",
    "nadia",
    "omar",
    "paula",
    "rafael",
    "sofia",
    "tomas",
    "uma",
    "viktor",
    "wen",
    "yusuf",
    "zara",
]
LAST = [
    "abbott",
    "baker",
    "castillo",
    "dubois",
    "eriksen",
    "fischer",
    "garcia",
    "hoang",
    "ibrahim",
    "jensen",
    "kowalski",
    "larsen",
    "moreau",
    "novak",
    "oliveira",
    "petrov",
    "quinn",
    "rossi",
    "silva",
    "tanaka",
    "ueda",
    "varga",
    "weber",
    "xu",
    "young",
]

# term -> hits at any size (None: every user). Tokens are words found nowhere else in the
# data (names, e-mails, group and reseller names, audit messages).
SEARCH_TERMS = {
    "zyxwvut": 0,
    "quetzal": 1,
    "marlowe": 20,
    "okonkwo": 100,
    "example.com": None,
}
TOKENS = (("quetzal", 1), ("marlowe", 20), ("okonkwo", 100))  # by rank: first 1, next 20, …
MEMBERS_OF_FIRST_GROUP = 300  # "Bench group 00000": the group detail page's group
AUDIT_ACTIONS = ("user.update", "group.update", "login", "rule.create", "user.create")


def _multiplier(n: int) -> int:
    m = 7919 * 104729  # a large odd number; made coprime with n
    while math.gcd(m, n) != 1:
        m += 2
    return m


class Population:
    """``users`` users, ``groups`` groups; ``seed`` fixes the random memberships."""

    def __init__(self, users: int, groups: int, *, groups_per_user: int = 3, seed: int = 2026):
        self.users = users
        self.groups = groups
        self.groups_per_user = groups_per_user
        self.seed = seed
        self._m = _multiplier(max(users, 1))
        self.step = max(1, users // MEMBERS_OF_FIRST_GROUP)

    def spread_rank(self, i: int) -> int:
        return (i * self._m) % self.users

    def token(self, i: int) -> str:
        rank, start = self.spread_rank(i), 0
        for word, hits in TOKENS:
            if start <= rank < start + hits:
                return word
            start += hits
        return ""

    def person(self, i: int) -> dict:
        """Names and address of user ``i``: first and last name picked so that e-mail order
        is not index order; the token (if any) goes in the last name."""
        first = FIRST[(i * 7) % len(FIRST)]
        last = LAST[(i * 11 + i // len(FIRST)) % len(LAST)]
        token = self.token(i)
        last_name = f"{last.title()} {token.title()}".strip()
        return {
            "email": f"{first}.{last}.{i}@example.com",
            "username": f"{first}.{last}.{i}",
            "first_name": first.title(),
            "last_name": last_name,
            "name": f"{first.title()} {last_name}",
            "administrator": i % 50 == 0,
        }

    def memberships(self):
        """Yield (user index, [group indexes]) for every user, in index order: three random
        groups of 1..groups-1, and group 0 for every ``step``-th user (≈300 members)."""
        rng = random.Random(self.seed)
        others = range(1, self.groups)
        k = min(self.groups_per_user, len(others))
        for i in range(self.users):
            chosen = rng.sample(others, k) if k else []
            if self.groups and i % self.step == 0:
                chosen.append(0)
            yield i, chosen

    def edit_target(self) -> int:
        """The user whose edit page is measured: mid-table, in three groups, not group 0,
        not an administrator (their page would say that groups do not apply)."""
        i = self.users // 2
        while (self.groups and i % self.step == 0) or i % 50 == 0:
            i += 1
        return i

    def audit_entry(self, k: int, total: int) -> dict:
        """Audit entry ``k`` of ``total``: one every 30 s, the newest last."""
        i = (k * 37) % max(self.users, 1)
        return {
            "seconds_ago": (total - k) * 30,
            "actor": i,
            "actor_label": self.person(i)["email"],
            "action": AUDIT_ACTIONS[k % len(AUDIT_ACTIONS)],
            "object_type": "user",
            "object_id": str((k * 13) % max(self.users, 1)),
            "message": f"Benchmark entry {k}.",
        }
