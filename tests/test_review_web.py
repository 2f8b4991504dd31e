"""The review queue's pages: bulk approve, sorting, previews and checks, comments, expired posts, rules."""

import re
from datetime import timedelta
from html import unescape

import pytest
from sqlalchemy import func, select

from planner.models import Comment, Delivery, Post, WorkspaceSetting
from planner.services import posts
from tests.review_helpers import channel, enable_kinds, set_rules


@pytest.fixture
def kinds(st):
    return enable_kinds(st)


def statuses(st):
    with st.sessions() as session:
        return {p.title: p.status for p in session.scalars(select(Post))}


def text_of(response) -> str:
    return unescape(response.get_data(as_text=True))


def words_of(response) -> str:
    """What a reader sees: the page's text without its tags."""
    return re.sub(r"<[^>]+>", "", text_of(response))


def test_bulk_approve_approves_each_post_and_lists_the_skipped_ones(st, make, auth, client):
    editor, operator = make.user("editor"), make.user("operator")
    group = make.channel("Python learners")
    for title, body in (("Loops", "Use for loops."), ("Ads", "Visit our casino!"),
                        ("Tuples", "Tuples are immutable.")):
        make.post(editor, status="in_review", title=title, body=body, channel_ids=[group.id])
    own = make.post(operator, status="in_review", title="My own", channel_ids=[group.id])
    set_rules(st, banned=["casino"])
    with st.sessions() as session:
        ids = {p.title: p.id for p in session.scalars(select(Post))}
    auth.login(operator.email)
    queue = client.get("/review")
    assert queue.status_code == 200
    page = text_of(queue)
    assert "the post contains words the community's rules forbid: “casino”" in page
    assert page.count('name="post_ids"') == 3  # not on the operator's own post
    token = auth.token("/review")
    done = client.post("/review/approve", follow_redirects=True, data={
        "csrf_token": token, "post_ids": [str(ids[t]) for t in ("Loops", "Ads", "Tuples")] + [str(own)]})
    page = text_of(done)
    assert "Approved “Loops”." in page and "Approved “Tuples”." in page
    assert (f"Skipped post {ids['Ads']}: the post contains words the community's rules forbid: "
            "“casino”") in page
    assert f"Skipped post {own}: you wrote post {own}; another operator must review it" in page
    assert "2 of 4 approved." in page
    assert statuses(st) == {"Loops": "approved", "Ads": "in_review", "Tuples": "approved",
                            "My own": "in_review"}
    with st.sessions() as session:
        assert sorted(session.scalars(select(Delivery.post_id))) == sorted([ids["Loops"], ids["Tuples"]])


def test_bulk_approve_needs_ticks_the_token_and_the_operator_role(st, make, auth, client):
    editor, operator = make.user("editor"), make.user("operator")
    post_id = make.post(editor, status="in_review", channel_ids=[make.channel().id])
    auth.login(operator.email)
    assert "Tick the posts to approve first." in text_of(client.post(
        "/review/approve", data={"csrf_token": auth.token("/review")}, follow_redirects=True))
    assert client.post("/review/approve", data={"post_ids": [str(post_id)]}).status_code == 400
    client.post("/logout", data={"csrf_token": auth.token("/")})
    auth.login(editor.email)
    assert client.post("/review/approve", data={"csrf_token": auth.token("/"),
                                                "post_ids": [str(post_id)]}).status_code == 403
    assert statuses(st) == {"Tip of the week": "in_review"}


def test_queue_sorts_by_publish_time_or_newest_first(st, make, auth, client, clock):
    editor, operator = make.user("editor"), make.user("operator")
    group = make.channel()
    now = clock.now()
    make.post(editor, status="in_review", title="Goes out soon, sent first",
              scheduled_at=now + timedelta(days=1), channel_ids=[group.id])
    clock.advance(minutes=5)
    make.post(editor, status="in_review", title="Goes out later, sent second",
              scheduled_at=now + timedelta(days=3), channel_ids=[group.id])
    auth.login(operator.email)

    def order(query):
        page = client.get("/review" + query).get_data(as_text=True)
        return re.findall(r'<a href="/posts/\d+">([^<]+)</a>', page)

    assert order("") == ["Goes out soon, sent first", "Goes out later, sent second"]
    assert order("?sort=publish_time") == order("")
    assert order("?sort=newest") == ["Goes out later, sent second", "Goes out soon, sent first"]
    assert order("?sort=nonsense") == order("")


def test_queue_shows_each_targets_preview_checks_and_the_thread(st, make, auth, client, kinds):
    editor, operator = make.user("editor"), make.user("operator")
    fedi = channel(st, "mastodon", "Fediverse")
    group = channel(st, "wecom", "Python group")
    post_id = make.post(editor, status="in_review", title="f-strings", body="Use **f-strings**.",
                        channel_ids=[fedi.id, group.id])
    auth.login(editor.email)
    client.post(f"/posts/{post_id}/comments",
                data={"csrf_token": auth.token(f"/posts/{post_id}"), "body": "<b>Ready</b> for review"})
    client.post("/logout", data={"csrf_token": auth.token("/")})
    auth.login(operator.email)
    page = client.get("/review").get_data(as_text=True)
    assert "f-strings\n\nUse f-strings.</pre>" in page             # Mastodon: plain text
    assert "# f-strings\n\n**Use f-strings.**" not in page
    assert "# f-strings\n\nUse **f-strings**.</pre>" in page       # WeCom markdown, as text
    assert '<meter min="0" max="500"' in page and "25 of 500 characters" in page
    assert "31 of 4096 bytes" in page
    assert "&lt;b&gt;Ready&lt;/b&gt; for review" in page            # comments are text, never HTML
    assert "All pre-publish checks pass." in page


def test_comments_on_the_post_page(st, make, auth, client):
    editor, other = make.user("editor"), make.user("editor")
    post_id = make.post(editor)
    auth.login(other.email)
    token = auth.token(f"/posts/{post_id}")
    empty = client.post(f"/posts/{post_id}/comments", data={"csrf_token": token, "body": "  "},
                        follow_redirects=True)
    assert "write a comment first" in text_of(empty)
    added = client.post(f"/posts/{post_id}/comments", data={"csrf_token": token, "body": "Nice tip"},
                        follow_redirects=True)
    assert "Comment added." in text_of(added) and "Nice tip" in text_of(added)
    with st.sessions() as session:
        comment_id = session.scalar(select(Comment.id))
    client.post("/logout", data={"csrf_token": token})
    auth.login(editor.email)
    assert "Delete comment" not in text_of(client.get(f"/posts/{post_id}"))
    refused = client.post(f"/comments/{comment_id}/delete",
                          data={"csrf_token": auth.token(f"/posts/{post_id}")})
    assert refused.status_code == 403
    with st.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Comment)) == 1


def test_expired_posts_can_be_rescheduled_or_canceled(st, make, auth, client, clock):
    editor, operator = make.user("editor"), make.user("operator")
    group = make.channel()
    late = make.post(editor, status="in_review", title="Missed greeting", channel_ids=[group.id])
    gone = make.post(editor, title="Old draft", channel_ids=[group.id])
    clock.advance(hours=2)
    with st.sessions() as session, session.begin():
        assert sorted(posts.expire_overdue(session, now=clock.now())) == [late, gone]
    auth.login(operator.email)
    assert 'href="/review/expired"' in client.get("/review").get_data(as_text=True)
    page = text_of(client.get("/review/expired"))
    assert "Missed greeting" in page and "Old draft" in page
    token = auth.token("/review/expired")
    bad = client.post(f"/review/expired/{late}/reschedule", data={"csrf_token": token,
                                                                 "scheduled_at": "2026-11-23T09:00"},
                      follow_redirects=True)
    assert "Not rescheduled: the publish time is in the past" in text_of(bad)
    moved = client.post(f"/review/expired/{late}/reschedule", follow_redirects=True,
                        data={"csrf_token": token, "scheduled_at": "2026-11-24T08:00"})
    assert "“Missed greeting” moved to 2026-11-24 08:00 and sent back to review." in text_of(moved)
    client.post(f"/posts/{gone}/cancel", data={"csrf_token": token})
    assert statuses(st) == {"Missed greeting": "in_review", "Old draft": "canceled"}
    assert "No post has expired." in text_of(client.get("/review/expired"))


def test_operators_keep_the_posting_rules(st, make, auth, client):
    editor, operator = make.user("editor"), make.user("operator")
    auth.login(operator.email)
    token = auth.token("/settings/rules")
    bad = client.post("/settings/rules", data={"csrf_token": token, "banned_words": "spam",
                                               "max_posts_per_channel_per_day": "-1",
                                               "min_minutes_between_posts": "30"})
    assert bad.status_code == 422 and "between 0 (no limit) and 1000" in text_of(bad)
    with st.sessions() as session:
        assert session.scalar(select(func.count()).select_from(WorkspaceSetting)) == 0
    ok = client.post("/settings/rules", follow_redirects=True, data={
        "csrf_token": token, "banned_words": "代购\n Free  Money \nfree money, casino\n\n",
        "max_posts_per_channel_per_day": "3", "min_minutes_between_posts": "30"})
    assert "Posting rules saved." in text_of(ok)
    with st.sessions() as session:
        stored = {row.key: row.value for row in session.scalars(select(WorkspaceSetting))}
    assert stored == {"banned_words": ["代购", "Free Money", "casino"],
                      "max_posts_per_channel_per_day": 3, "min_minutes_between_posts": 30}
    client.post("/logout", data={"csrf_token": token})
    auth.login(editor.email)
    assert client.get("/settings/rules").status_code == 403


def test_approving_from_the_page_shows_what_blocks_it(st, make, auth, client, kinds):
    editor, operator = make.user("editor"), make.user("operator")
    forum = channel(st, "discourse", "Forum")
    post_id = make.post(editor, status="in_review", channel_ids=[forum.id],
                        body="See [the docs](htp://docs.example.org).")
    auth.login(editor.email)
    detail = words_of(client.get(f"/posts/{post_id}"))
    assert "Blocks approval: these links are not valid http(s) addresses: “htp://docs.example.org”" in detail
    client.post("/logout", data={"csrf_token": auth.token("/")})
    auth.login(operator.email)
    assert "Approval is blocked until the checks pass." in text_of(client.get("/review"))
    refused = client.post(f"/posts/{post_id}/approve", follow_redirects=True,
                          data={"csrf_token": auth.token("/review"), "comment": ""})
    assert ("the post did not pass its pre-publish checks: these links are not valid http(s) "
            "addresses: “htp://docs.example.org”") in text_of(refused)
    assert statuses(st) == {"Tip of the week": "in_review"}


def test_an_editor_reschedules_only_their_own_expired_post(st, make, auth, client, clock):
    author, other = make.user("editor"), make.user("editor")
    post_id = make.post(author, status="in_review", title="Missed share", channel_ids=[make.channel().id])
    clock.advance(hours=2)
    with st.sessions() as session, session.begin():
        posts.expire_overdue(session, now=clock.now())
    auth.login(other.email)
    page = client.get("/review/expired").get_data(as_text=True)
    assert "Missed share" in page and "Reschedule" not in page and "Cancel this post" not in page
    refused = client.post(f"/review/expired/{post_id}/reschedule", follow_redirects=True, data={
        "csrf_token": auth.token("/review/expired"), "scheduled_at": "2026-11-24T08:00"})
    assert f"Not rescheduled: you may not change post {post_id}" in text_of(refused)
    assert statuses(st) == {"Missed share": "expired"}
    client.post("/logout", data={"csrf_token": auth.token("/")})
    auth.login(author.email)
    moved = client.post(f"/review/expired/{post_id}/reschedule", follow_redirects=True, data={
        "csrf_token": auth.token("/review/expired"), "scheduled_at": "2026-11-24T08:00"})
    assert "“Missed share” moved to 2026-11-24 08:00 and sent back to review." in text_of(moved)
    assert statuses(st) == {"Missed share": "in_review"}


def test_the_queue_links_occurrences_to_their_series_and_approves_a_whole_series(
        st, make, auth, client):
    from tests.series_helpers import make_series, occurrence_posts

    group = make.channel("Python learners group 1", tags=["python-groups"])
    editor, operator = make.user("editor"), make.user("operator")
    series_id = make_series(st, editor, title="Good morning")
    own = make_series(st, operator, title="Evening tips", pool=["Tip"], template="{text}")
    make.post(editor, status="in_review", title="Loops", channel_ids=[group.id])
    auth.login(operator.email)
    queue = client.get("/review")
    html, words = text_of(queue), words_of(queue)
    # Ten occurrences of each series wait (the 14-day horizon), each with a link to its series.
    assert html.count(f'class="badge series-badge" href="/series/{series_id}"') == 10
    assert words.count("Series: Good morning") == 10 and words.count("Series: Evening tips") == 10
    assert html.count(f'action="/series/{series_id}/approve"') == 10
    assert f'action="/series/{own}/approve"' not in html  # the operator wrote it: not theirs to approve

    done = client.post(f"/series/{series_id}/approve",
                       data={"csrf_token": auth.token("/review"), "back": "queue"})
    assert (done.status_code, done.headers["Location"]) == (302, "/review")
    assert "Series approved: its occurrences will be published." in text_of(client.get("/review"))
    assert {p.status for p in occurrence_posts(st, series_id)} == {"approved"}
    assert {p.status for p in occurrence_posts(st, own)} == {"in_review"}
    assert statuses(st)["Loops"] == "in_review"
    after = text_of(client.get("/review"))
    assert f"/series/{series_id}" not in after and f'href="/series/{own}"' in after


def test_editors_neither_see_the_queue_nor_approve_a_series(st, make, auth, client):
    from tests.series_helpers import make_series, occurrence_posts

    make.channel("Python learners group 1", tags=["python-groups"])
    editor = make.user("editor")
    series_id = make_series(st, editor)
    auth.login(editor.email)
    assert client.get("/review").status_code == 403
    refused = client.post(f"/series/{series_id}/approve",
                          data={"csrf_token": auth.token("/"), "back": "queue"})
    assert refused.status_code == 403
    assert {p.status for p in occurrence_posts(st, series_id)} == {"in_review"}
