import pytest

from tests.factories import ResellerFactory


@pytest.fixture
def other_reseller(db):
    return ResellerFactory(name="Bluewave Telecom")
