from collections import Counter
import pytest, schemathesis
from hypothesis import HealthCheck, given, settings, strategies as st
from tests.api.test_fuzz import _request
pytestmark = pytest.mark.django_db
def test_big(api_as, admin, mine, theirs, member, reseller):
    for user in (admin, member(reseller=reseller, email="r@a.example")):
        api = api_as(user)
        schema = schemathesis.openapi.from_dict(api.get("/api/cp/schema").json())
        cases = st.one_of(schema.as_strategy(schemathesis.GenerationMode.POSITIVE), schema.as_strategy(schemathesis.GenerationMode.NEGATIVE), schema.as_strategy(path_parameters={"id": 1}), schema.as_strategy(path_parameters={"id": 2}))
        counts = Counter(); fails = []
        @settings(max_examples=1500, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(case=cases)
        def run(case):
            r = _request(api, case)
            counts[(case.method, r.status_code)] += 1
            if r.status_code >= 500:
                fails.append((case.method, case.formatted_path, case.query, case.body))
        run()
        print(sorted(counts.items()))
        print(fails[:10])
    assert 0
