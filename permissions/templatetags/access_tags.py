from html import escape

from django import template
from django.utils.safestring import mark_safe
from django.utils.text import capfirst

from ..group_rows import group_rows as _group_rows
from ..resolver import access_of

register = template.Library()


@register.simple_tag(takes_context=True)
def can(context, area: str, action: str) -> bool:
    """``{% can "support-ticket" "create" as may_create %}``: asks the one resolver."""
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return False
    access = access_of(request)
    return access.can(area, action)


def _refs(grid_id: str, numbers, css: str = "ref") -> str:
    return "".join(
        f'<a class="{css}" href="#{grid_id}-source-{number}">'
        f'<span class="visually-hidden">source </span>{number}</a>'
        for number in numbers
    )


def _cell(grid_id: str, cell) -> str:
    verdict = "yes" if cell.allowed else "no"
    html = [
        f'<td class="cell cell--{verdict}{" cell--changed" if cell.changed else ""}">'
        f'<span class="verdict"><span aria-hidden="true">{"✓" if cell.allowed else "✗"}</span>'
        f" {'Allowed' if cell.allowed else 'Denied'}</span> "
        f'<span class="refs">{_refs(grid_id, cell.sources)}'
    ]
    if cell.overridden:
        html.append(
            f' <span class="overrides">overrides '
            f"{_refs(grid_id, cell.overridden, 'ref ref--overridden')}</span>"
        )
    html.append("</span>")
    if cell.changed:
        html.append(
            ' <span class="change"><span class="change-mark" aria-hidden="true">◆</span>'
            f' (would change: now <span aria-hidden="true">{"✓" if cell.was_allowed else "✗"}'
            f"</span> {'allowed' if cell.was_allowed else 'denied'})</span>"
        )
    html.append("</td>")
    return "".join(html)


@register.simple_tag
def grid_table(grid, grid_id: str, caption: str, compared: bool = False) -> str:
    """``settings/_grid.html``'s legend and table, built here with the standard library's
    escaping: the template's loops and tags per cell (25 areas by four actions, each with
    its sources) were most of the effective-permissions page's time."""
    gid = escape(grid_id)
    legend = "".join(
        f'<li id="{gid}-source-{number}"><span class="ref" aria-hidden="true">{number}</span>'
        f' <span class="visually-hidden">Source {number}: </span>{escape(source)}</li>'
        for number, source in enumerate(grid.legend, start=1)
    )
    html = [
        f'<div class="grid-legend"><p class="grid-legend__title" id="{gid}-legend">'
        "Why: each cell gives the number of what decided it.</p>"
        f'<ol class="grid-sources" aria-labelledby="{gid}-legend">{legend}</ol></div>'
    ]
    if compared:
        if grid.changed:
            html.append(
                '<p class="callout grid-changes" role="status"><span class="change-mark"'
                f' aria-hidden="true">◆</span> {grid.changed} cell'
                f"{'' if grid.changed == 1 else 's'} would change compared with now; they are"
                " marked “would change” with the verdict they have now.</p>"
            )
        else:
            html.append(
                '<p class="callout grid-changes" role="status">'
                "Nothing would change compared with now.</p>"
            )
    heads = "".join(
        f'<th scope="col">{escape(capfirst(cell.action))}</th>'
        for cell in (grid.rows[0].cells if grid.rows else ())
    )
    html.append(
        '<div class="table-wrap" tabindex="0" role="region" aria-label="Permission grid">'
        f'<table class="table permission-grid" id="{gid}"><caption>{escape(caption)}</caption>'
        f'<thead><tr><th scope="col">Area</th>{heads}</tr></thead><tbody>'
    )
    for row in grid.rows:
        html.append(
            f'<tr><th scope="row">{escape(row.area.label)}<div class="muted small">'
            f"<code>{escape(row.area.api_path)}</code></div></th>"
        )
        html.extend(_cell(gid, cell) for cell in row.cells)
        html.append("</tr>")
    html.append("</tbody></table></div>")
    return mark_safe("".join(html))  # noqa: S308 (every label, source and id escaped above)


@register.simple_tag
def group_rows(groups) -> str:
    """The groups table's rows (``permissions.group_rows``)."""
    return _group_rows(groups)


@register.simple_tag(takes_context=True)
def nav_links(context) -> str:
    """The main navigation's links after the dashboard: the business areas the user may
    read, then the settings areas under a "Settings" heading, then the other pages
    (``permissions.context_processors``), the current page marked. Written here: every page
    pays for the navigation, and a template loop over the areas twice was a good part of a
    small page's rendering."""
    path = context["request"].path

    def link(url: str, label: str, badge: str = "") -> str:
        current = ' aria-current="page"' if path == url else ""
        badge_html = f' <span class="pill pill--warn">{escape(badge)}</span>' if badge else ""
        return f'<a href="{escape(url)}"{current}>{escape(label)}{badge_html}</a>'

    areas = context.get("nav_areas") or []
    business = [
        link(item["url"], item["area"].label) for item in areas if not item["area"].settings_area
    ]
    settings_links = [
        link(item["url"], item["area"].label) for item in areas if item["area"].settings_area
    ]
    if settings_links:
        settings_links.insert(0, '<span class="nav-heading">Settings</span>')
    pages = [
        link(item["url"], item["label"], item["badge"]) for item in context.get("nav_pages") or []
    ]
    return mark_safe("\n".join([*business, *settings_links, *pages]))  # noqa: S308 (escaped above)
