"""Pre-publish checks: banned words, links, each target's renderer and limits, the day limit and gap."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from channels.outbox import OutboxChannel
from planner.channel_api import ChannelContext
from planner.errors import ValidationFailed
from planner.models import AuditEntry, Delivery, Post
from planner.registry import Registry
from planner.services import posts
from planner.services.checks import banned_words_in, broken_links, valid_url
from planner.services.previews import Draft, render_all
from tests.review_helpers import channel, checker, enable_kinds, set_rules

# ---- banned words --------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "found"), [
    ("Get FREE MONEY now", ["free money"]),          # case does not matter
    ("no spam here", ["spam"]),
    ("spammers are not spam-free", ["spam"]),        # "spam-free" has spam as a whole word
    ("spammer and antispam", []),                    # not inside longer Latin words
    ("加微信找代购，便宜", ["代购"]),                  # Chinese matches anywhere
    ("代購", []),                                     # a different character is a different word
    ("买spam药", ["spam"]),                            # a Latin word beside Chinese stands alone
    ("Ｓｐａｍ", []),                                  # full-width letters are other characters
    ("スパムです", ["スパム"]),                         # Japanese matches anywhere too
])
def test_banned_words(text, found):
    assert banned_words_in(text, ["free money", "spam", "代购", "スパム"]) == found


# ---- links ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "https://docs.python.org/3/", "http://example.com:8080/a?b=c#d", "https://例子.中国/路径",
    "https://192.0.2.1/", "http://[2001:db8::1]/x",
])
def test_valid_urls(url):
    assert valid_url(url)


@pytest.mark.parametrize("url", [
    "htp://example.com", "http//example.com", "https://", "https://localhost", "ftp://example.com/f",
    "https://exa mple.com", "https://example.com:80a/", "https://-bad-.com/", "https://example.123",
    "/docs", "#top", "",
])
def test_invalid_urls(url):
    assert not valid_url(url)


def test_broken_links_in_markdown_and_bare_text_but_not_in_code():
    body = (
        "Read [the docs](https://docs.python.org/3/) and [this](htp://example.com).\n\n"
        "Also [broken](https://exa mple.com) and <https://ok.example.org>.\n\n"
        "Bare: https://example.com/path. and https://example.com:80a/x, 见 https://例子.中国/文档。\n\n"
        "Mail [me](mailto:erin@example.com), or [local](/about).\n\n"
        "访问https://example.org了解更多，或者访问htps://typo.example。\n\n"
        "`http//in-code.example` and\n\n```\ncurl htp://also-code\n```\n"
    )
    assert broken_links(body) == ["htp://example.com", "https://exa mple.com",
                                  "https://example.com:80a/x", "/about", "htps://typo.example"]


# ---- per target: the channel kind's own renderer and limits -------------------------------------

@pytest.fixture
def kinds(st):
    return enable_kinds(st)


def findings(st, draft):
    with st.sessions() as session:
        return [(f.code, f.severity, f.channel_id) for f in checker(st).run(session, draft)]


def draft(targets, body="Use **f-strings**.", title="Tip of the week", when=None, post_id=None):
    return Draft("tutorial", title, body, when, targets, post_id)


def test_over_length_per_target_kind(st, kinds):
    mastodon = channel(st, "mastodon", "Fediverse")    # 500 characters, one message
    wecom = channel(st, "wecom", "Python group")       # 4096 bytes, up to 10 numbered messages
    outbox = channel(st, "outbox", "Archive")          # no limit
    targets = [mastodon, wecom, outbox]
    assert findings(st, draft(targets)) == []

    long = "\n\n".join(f"第{i}段：用 f-string 格式化字符串，简单又清楚。" * 6 for i in range(20))
    assert findings(st, draft(targets, body=long)) == [
        ("too_long", "error", mastodon.id), ("split", "warning", wecom.id)]
    with st.sessions() as session:
        found = checker(st).run(session, draft(targets, body=long))
    assert found[0].message.startswith("Fediverse (Mastodon account) cannot take this post: the "
                                       "status is ")
    assert found[1].message == ("Python group: the post is too long for one message and goes out "
                                "as 2 numbered messages")

    huge = long * 8  # beyond WeCom's ten messages
    assert ("too_long", "error", wecom.id) in findings(st, draft(targets, body=huge))


def test_empty_title_where_the_kind_shows_one(st, kinds):
    forum = channel(st, "discourse", "Forum")
    group = channel(st, "wecom", "Group")
    assert findings(st, draft([forum, group], title="  ")) == [("missing_title", "error", forum.id)]
    with st.sessions() as session:
        [finding] = checker(st).run(session, draft([forum], title=""))
    assert finding.message == "Forum: Discourse forum shows a title, and the title is empty"


def test_a_channel_whose_kind_is_not_installed(st, kinds):
    forum = channel(st, "discourse", "Forum")
    st.registry = Registry({"outbox": OutboxChannel})  # the forum's kind was uninstalled
    assert findings(st, draft([forum])) == [("kind_missing", "error", forum.id)]


def test_banned_words_and_links_are_findings_for_the_whole_post(st, kinds):
    group = channel(st, "outbox", "Group")
    set_rules(st, banned=["代购", "casino"])
    body = "Best CASINO deals, 代购 too: [here](htp://x.example)"
    with st.sessions() as session:
        found = checker(st).run(session, draft([group], body=body))
    assert [(f.code, f.channel_id, f.message) for f in found] == [
        ("banned_words", None, "the post contains words the community's rules forbid: “代购”, “casino”"),
        ("bad_links", None, "these links are not valid http(s) addresses: “htp://x.example”"),
    ]


# ---- the schedule: day limit in the workspace timezone, and the gap --------------------------------

def approved_at(st, make, when, channel_ids, editor, operator):
    return make.post(editor, status="approved", reviewer=operator, scheduled_at=when,
                     channel_ids=channel_ids)


def test_day_limit_counts_the_workspace_timezones_day(st, make, kinds):
    editor, operator = make.user("editor"), make.user("operator")
    group = channel(st, "outbox", "Group")
    set_rules(st, per_day=1)
    # 00:30 on Tuesday 24 November in Shanghai is still Monday 23 November in UTC.
    approved_at(st, make, datetime(2026, 11, 23, 16, 30, tzinfo=UTC), [group.id], editor, operator)
    # 23:30 Monday in Shanghai (same UTC day as the post above, another local day): allowed.
    assert findings(st, draft([group], when=datetime(2026, 11, 23, 15, 30, tzinfo=UTC))) == []
    # 23:00 Tuesday in Shanghai (the next UTC day, the same local day): one too many.
    tuesday_night = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    assert findings(st, draft([group], when=tuesday_night)) == [
        ("too_many_that_day", "error", group.id)]
    with st.sessions() as session:
        [finding] = checker(st).run(session, draft([group], when=tuesday_night))
    assert finding.message == ("Group already has 1 post(s) on 2026-11-24 (Asia/Shanghai); the "
                               "community's rules allow at most 1 a day")
    set_rules(st, per_day=2)
    assert findings(st, draft([group], when=tuesday_night)) == []
    set_rules(st, per_day=0)  # 0 turns the limit off
    assert findings(st, draft([group], when=tuesday_night)) == []


def test_min_gap_between_posts_on_one_channel(st, make, kinds):
    editor, operator = make.user("editor"), make.user("operator")
    group, other = channel(st, "outbox", "Group"), channel(st, "outbox", "Other group")
    set_rules(st, gap=60)
    ten = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    first = approved_at(st, make, ten, [group.id], editor, operator)
    assert findings(st, draft([group, other], when=ten + timedelta(minutes=40))) == [
        ("too_close", "error", group.id)]
    with st.sessions() as session:
        [finding] = checker(st).run(session, draft([group], when=ten - timedelta(minutes=15)))
    assert finding.message == ("Group: “Tip of the week” goes out at 2026-11-23 10:00, 15 minutes "
                               "from this post; the community's rules ask for at least 60 minutes "
                               "between posts")
    assert findings(st, draft([group], when=ten + timedelta(minutes=60))) == []  # exactly the gap
    # A post is never too close to itself (moving an approved post a little).
    assert findings(st, draft([group], when=ten + timedelta(minutes=5), post_id=first)) == []
    # A canceled post no longer counts.
    with st.sessions() as session, session.begin():
        post = session.get(Post, first)
        posts.cancel(session, session.merge(operator), post, now=st.clock.now())
    assert findings(st, draft([group], when=ten + timedelta(minutes=40))) == []


# ---- enforced at approval -------------------------------------------------------------------------

def test_approval_is_refused_while_an_error_remains_and_nothing_is_written(st, make, kinds):
    editor, operator = make.user("editor"), make.user("operator")
    group = channel(st, "outbox", "Group")
    post_id = make.post(editor, status="in_review", channel_ids=[group.id],
                        body="Cheap casino tips")
    set_rules(st, banned=["casino"])
    with st.sessions() as session:
        audits = session.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(ValidationFailed) as refused:
        with st.sessions() as session, session.begin():
            posts.approve(session, session.merge(operator), session.get(Post, post_id),
                          now=st.clock.now(), allow_self_approval=False, checker=checker(st))
    assert refused.value.message == "the post did not pass its pre-publish checks"
    assert refused.value.fields == {
        "checks.banned_words": "the post contains words the community's rules forbid: “casino”"}
    with st.sessions() as session:
        assert session.get(Post, post_id).status == "in_review"
        assert session.scalar(select(func.count()).select_from(Delivery)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == audits

    set_rules(st, banned=[])
    with st.sessions() as session, session.begin():
        posts.approve(session, session.merge(operator), session.get(Post, post_id),
                      now=st.clock.now(), allow_self_approval=False, checker=checker(st))
    with st.sessions() as session:
        assert session.get(Post, post_id).status == "approved"


def test_warnings_do_not_block_approval(st, make, kinds):
    editor, operator = make.user("editor"), make.user("operator")
    group = channel(st, "wecom", "Group")
    long = "\n\n".join("用 f-string 格式化字符串，简单又清楚。" * 8 for _ in range(20))
    post_id = make.post(editor, status="in_review", channel_ids=[group.id], body=long)
    with st.sessions() as session, session.begin():
        posts.approve(session, session.merge(operator), session.get(Post, post_id),
                      now=st.clock.now(), allow_self_approval=False, checker=checker(st))
        assert session.get(Post, post_id).status == "approved"


def test_each_target_is_rendered_with_its_own_settings(st, kinds):
    groups = [channel(st, "wecom", f"Group {i}") for i in range(3)]
    plain = channel(st, "wecom", "Text-only group", format="text")
    renderings = render_all(draft([*groups, plain], body="Use **f-strings**."), kinds,
                            ChannelContext(instance_path=st.instance_path))
    assert [r.channel.name for r in renderings] == ["Group 0", "Group 1", "Group 2", "Text-only group"]
    assert [r.messages[0].text for r in renderings] == ["# Tip of the week\n\nUse **f-strings**."] * 3 + [
        "Tip of the week\n\nUse f-strings."]
    assert [r.limits.max_length for r in renderings] == [4096, 4096, 4096, 2048]
