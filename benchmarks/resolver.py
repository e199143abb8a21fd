"""Benchmark 1: the resolver.

Time per ``can(area, action)`` on a resolved user, and the time to resolve a user in 1, 10
and 50 groups with 20 rules each, cold (cache emptied: database + cache write) and warm
(cache hit). Run: .venv/bin/python benchmarks/resolver.py
"""

from _harness import benchmark_database, database_label, median, timed, us
from django.core.cache import cache, caches


def main() -> None:
    from accounts.models import Role, User
    from controlpanel.kit.areas import ACTIONS, all_areas
    from permissions.models import Group, Rule
    from permissions.resolver import effective_permissions

    areas = [a.key for a in all_areas()]
    print(f"database: {database_label()}, cache: {caches['default'].__class__.__name__}")
    results = {}
    for n_groups in (1, 10, 50):
        groups = Group.objects.bulk_create(
            [Group(name=f"g{n_groups}-{i}", defaults=15) for i in range(n_groups)]
        )
        Rule.objects.bulk_create(
            [
                Rule(
                    group=g,
                    area=areas[j % len(areas)],
                    effect=("allow", "deny")[j // 12],
                    actions=1 + j % 15,
                )
                for g in groups
                for j in range(20)
            ]
        )
        user = User.objects.create_user(f"u{n_groups}@example.com", None, role=Role.USER)
        user.access_groups.set(groups)

        def cold(user_id=user.pk):
            cache.clear()
            effective_permissions(User.objects.get(pk=user_id))

        fresh = User.objects.get(pk=user.pk)

        def warm(fresh=fresh):
            effective_permissions(fresh)

        cold_times = timed(cold, 200)
        warm_times = timed(warm, 2000)
        # the cold figure includes one User fetch, as a request does; subtract it
        fetch = median(timed(lambda uid=user.pk: User.objects.get(pk=uid), 200))
        results[n_groups] = (median(cold_times) - fetch, median(warm_times))

    access = effective_permissions(User.objects.get(email="u10@example.com"))
    cells = [(a, x) for a in areas for x in ACTIONS]

    def all_cells():
        for area, action in cells:
            access.can(area, action)

    per_can = median(timed(all_cells, 2000)) / len(cells)
    print(f"can(area, action) on a resolved user: {us(per_can)} per call")
    print(f"{'groups x 20 rules':>18} {'cold':>12} {'warm':>12} {'cold/warm':>10}")
    for n, (c, w) in results.items():
        print(f"{n:>18} {us(c)} {us(w)} {c / w:>10.1f}")
    print(f"ratio cold(50)/cold(1): {results[50][0] / results[1][0]:.2f}")


if __name__ == "__main__":
    with benchmark_database():
        main()
