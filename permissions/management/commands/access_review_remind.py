"""Remind the reviewers when the recurring access review is due (one reminder per
cadence). Meant for cron, e.g. daily: see docs/deployment.md."""

from django.core.management.base import BaseCommand

from permissions import review_schedule


class Command(BaseCommand):
    help = "E-mail the access review reminder if a review is due and this cadence's has not gone."

    def handle(self, *args, **options):
        state = review_schedule.status()
        if not state.cadence_days:
            self.stdout.write("No review schedule is set; nobody to remind.")
            return
        if not state.due:
            self.stdout.write(f"Not due: the next review is due {state.due_at:%Y-%m-%d %H:%M}.")
            return
        sent = review_schedule.remind_if_due()
        if sent:
            self.stdout.write(f"Review due since {state.due_at:%Y-%m-%d}: reminded {sent} user(s).")
        else:
            self.stdout.write("Review due; this cadence's reminder was already sent.")
