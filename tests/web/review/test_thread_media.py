"""Photos and voice notes a habitant sends in a conversation: on the contribution's page, served
after the same scope check as the contribution's own attachments."""

from __future__ import annotations

from typing import Any

from bots.runtime import Runtime
from storage.db import transaction
from storage.models import ThreadMessage
from tests.web.conftest import Sample, Territory, login_as


def test_attachments_sent_in_a_thread_are_shown_with_the_same_checks(
    client: Any, runtime: Runtime, territory: Territory, sample: Sample
) -> None:
    photo = runtime.settings.media_dir / "t" / "2.jpg"
    photo.parent.mkdir(parents=True, exist_ok=True)
    photo.write_bytes(b"\xff\xd8\xff photo")
    with transaction(runtime.sessions) as session:
        answer = ThreadMessage(
            contribution_id=sample.nord,
            text="Voilà la photo",
            media=[
                {"kind": "photo", "file_id": "p", "path": "t/2.jpg", "mime": "image/jpeg"},
                {"kind": "voice", "file_id": "v", "path": "../../etc/passwd"},
                {"kind": "voice", "removed": "retention"},
            ],
        )
        other = ThreadMessage(contribution_id=sample.sud, text="Ailleurs", media=[])
        session.add_all([answer, other])
        session.flush()
        answer_id, other_id = answer.id, other.id
    url = f"/contributions/{sample.nord}/suite/{answer_id}/media"
    login_as(client, territory.users["conseil_citoyen"])  # scoped to nord
    page = client.get(f"/contributions/{sample.nord}").get_data(as_text=True)
    assert f'<img src="{url}/0"' in page
    assert f'src="{url}/1"' in page  # a voice note is played from the same route
    assert "Pièce jointe supprimée à la fin de la durée de conservation (message vocal)" in page
    response = client.get(f"{url}/0")
    assert response.status_code == 200 and response.data == b"\xff\xd8\xff photo"
    assert response.headers["Cache-Control"] == "private, no-store"
    response.close()
    assert client.get(f"{url}/1").status_code == 404  # outside the media folder
    assert client.get(f"{url}/2").status_code == 404  # deleted at the end of retention
    assert client.get(f"{url}/3").status_code == 404
    # Another contribution's answer, or a contribution outside the account's quartiers: 404.
    assert client.get(f"/contributions/{sample.nord}/suite/{other_id}/media/0").status_code == 404
    assert client.get(f"/contributions/{sample.sud}/suite/{other_id}/media/0").status_code == 404
