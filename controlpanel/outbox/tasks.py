"""Tasks of the outbox, on the Django Tasks API (``django_tasks``, the backport of Django
6's ``django.tasks``). Which backend runs them is ``TASKS`` in the settings."""

from django_tasks import task

from . import sending


@task()
def deliver_message(message_id: int) -> str:
    return sending.deliver(message_id)
