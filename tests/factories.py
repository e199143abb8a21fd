import factory

from accounts.models import Role, User
from controlpanel.kit.areas import mask_of
from permissions.models import Effect, Group, Rule
from resellers.models import Reseller

TEST_PASSWORD = "correct horse battery staple"


class ResellerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reseller

    name = factory.Sequence(lambda n: f"Reseller {n}")
    email = factory.Sequence(lambda n: f"reseller{n}@example.com")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    role = Role.USER
    password = factory.django.Password(TEST_PASSWORD)

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        if create and extracted:
            self.access_groups.set(extracted)


class AdminFactory(UserFactory):
    role = Role.ADMINISTRATOR


class GroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Group

    name = factory.Sequence(lambda n: f"Group {n}")
    defaults = mask_of(["create", "read", "update", "delete"])


class RuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Rule

    area = "customer"
    actions = mask_of(["read"])
    effect = Effect.ALLOW
