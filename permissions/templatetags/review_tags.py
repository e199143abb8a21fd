"""``{{ rows|review_rows }}``: the access review's table rows, built here with the standard
library's escaping. A template loop cost about twenty variable look-ups and filters per
user, most of the page's time once its totals were kept (as with the user form's group
picker, ``permissions.user_forms.UserForm.group_picker``)."""

from html import escape

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify

from permissions.review import FLAGS

register = template.Library()


def _pill(flag: str) -> str:
    return f'<span class="pill review-flag review-flag--{slugify(flag)}">{escape(flag)}</span> '


_FLAG_PILLS = {flag: _pill(flag) for flag in FLAGS}
_NONE = '<span class="muted">—</span>'
_ACCESS_TITLE = "C create · R read · U update · D delete"


def _flag(flag: str) -> str:
    return _FLAG_PILLS.get(flag) or _pill(flag)


def _row(row) -> str:
    user = row.user
    who = escape(user.email)
    if user.name:
        who += f'<br><span class="muted">{escape(user.name)}</span>'
    if user.reseller_id is not None and user.reseller is not None:
        who += f'<br><span class="muted">{escape(str(user.reseller))}</span>'
    if user.last_login:
        local = timezone.localtime(user.last_login)
        seen = f'<time datetime="{local.isoformat()}">{local.strftime("%Y-%m-%d %H:%M")}</time>'
    else:
        seen = '<span class="muted">never</span>'
    groups = escape(", ".join(row.groups)) if row.groups else "—"
    flags = "".join(_flag(flag) for flag in row.flags) if row.flags else _NONE
    return (
        f"<tr><td>{who}</td><td>{escape(str(user.get_role_display()))}</td><td>{groups}</td>"
        f'<td><code class="review-access" title="{_ACCESS_TITLE}">'
        f"{escape(row.access_summary)}</code></td><td>{seen}</td><td>{flags}</td></tr>"
    )


@register.filter
def review_rows(rows) -> SafeString:
    """The rows of ``templates/audit/review.html``'s table, one ``<tr>`` per user."""
    if not rows:
        return mark_safe('<tr><td colspan="6" class="muted">No users to show.</td></tr>')
    return mark_safe("".join(_row(row) for row in rows))  # noqa: S308 (escaped above)
