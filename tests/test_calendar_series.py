"""The calendar shows a series' occurrences beyond the horizon, where they are not posts yet."""

from tests.test_api_series import body


def test_occurrences_not_yet_posts_appear_beside_the_posts(make, api):
    editor = make.user("editor")
    channel = make.channel("Python learners group 1", tags=["python-groups"])
    other = make.channel("General chat")
    created = api("POST", "/series", editor, json=body())
    assert created.status_code == 201, created.json
    series_id = created.json["id"]
    window = {"start": "2026-12-07T00:00:00+08:00", "end": "2026-12-10T00:00:00+08:00"}

    answer = api("GET", "/calendar", editor, query_string=window).json
    # The horizon (14 days from 23 November) made the 7 December occurrence a post; the rest are plans.
    assert [(i["title"], i["status"]) for i in answer["items"]] == [
        ("Good morning December 7, 2026", "in_review")]
    assert answer["occurrences"] == [
        {"series_id": series_id, "kind": "greeting", "title": "Good morning December 8, 2026",
         "scheduled_at": "2026-12-08T08:00:00+08:00", "channel_ids": [], "tags": ["python-groups"]},
        {"series_id": series_id, "kind": "greeting", "title": "Good morning December 9, 2026",
         "scheduled_at": "2026-12-09T08:00:00+08:00", "channel_ids": [], "tags": ["python-groups"]}]

    def planned(**filters):  # type: ignore[no-untyped-def]
        found = api("GET", "/calendar", editor, query_string=window | filters).json["occurrences"]
        return len(found)

    assert planned(kind="greeting") == 2 and planned(kind="tutorial") == 0
    assert planned(tag="python-groups") == 2 and planned(tag="other") == 0
    assert planned(channel_id=channel.id) == 2 and planned(channel_id=other.id) == 0
    # Occurrences have no status or author of their own yet.
    assert planned(status="in_review") == 0 and planned(author_id=editor.id) == 0
