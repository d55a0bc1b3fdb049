"""`review.rows.LineKit` gives the inbox's lines what Jinja and Flask would, worked out once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import render_template_string, url_for
from markupsafe import Markup

from storage.models import Theme
from web.review.rows import line_kit

ENDPOINTS = ("contributions.detail", "contributions.theme", "contributions.status")


def test_line_kit_matches_what_the_template_computed_per_line(app: Any) -> None:
    with app.test_request_context("/inbox/"):
        kit = line_kit()
        assert line_kit() is kit  # one per request
        for endpoint in ENDPOINTS:
            for contribution_id in (1, 42, 987654):
                assert kit.url(endpoint, contribution_id) == url_for(
                    endpoint, contribution_id=contribution_id
                )
        # Same as the template's newstyle `_()`: the message is markup, the variables escaped.
        for message, variables in (
            ("Retirer le thème %(name)s", {"name": "<b>Propreté</b> & « rue »"}),
            ("Choisi par l'habitant :", {}),
            ("Cocher la contribution %(id)d", {"id": 7}),
            ("Contribution %(id)d", {"id": 7}),
            ("Confirmer « %(name)s » pour la contribution %(id)d", {"name": "a&b", "id": 3}),
            ("Suggéré : %(name)s", {"name": Markup("<i>déjà sûr</i>")}),
            ("%(n)d nouvelle(s) réponse(s) de l'habitant", {"n": 2}),
            ("100 %% sûr", {}),
        ):
            expected = render_template_string("{{ _(m, **v) }}", m=message, v=variables)
            for _again in range(2):  # the first time and from what the kit kept
                assert str(kit.gettext(message, **variables)) == expected
        for moment in (
            datetime(2026, 3, 29, 0, 30, tzinfo=UTC),  # the night the clocks change
            datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # and back
            datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
            datetime(2026, 12, 31, 23, 59, tzinfo=UTC),  # another year, locally
            datetime(2027, 1, 9, 8, 5, tzinfo=UTC),
        ):
            expected_dates = render_template_string(
                "{{ m | datetimeformat('short') }}|{{ m | datetimeformat('dd/MM HH:mm') }}",
                m=moment,
            )
            assert "|".join(kit.when(moment)) == expected_dates
        themes = [Theme(id=3, name="Cadre <de> vie"), Theme(id=5, name="Écoles")]
        assert str(kit.theme_options(themes)) == (
            '<option value="3">Cadre &lt;de&gt; vie</option><option value="5">Écoles</option>'
        )
        options = str(kit.status_options("traite"))
        assert options.count(" selected") == 1
        assert '<option value="traite" selected>' in options
        assert str(kit.status_options("traite")) == options  # kept for the next line
        assert '<option value="nouveau" selected>' in str(kit.status_options("nouveau"))
        assert kit.csrf and kit.csrf == kit.csrf
        for name in ("telegram", "simulator", "terrain", "autre"):
            expected_label = render_template_string("{{ channel_label(n) }}", n=name)
            assert kit.channel(name) == expected_label == kit.channel(name)
