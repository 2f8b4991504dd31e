"""Each person's language: chosen on the account page or through the API, else the browser's."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from planner.models import AuditEntry, User

ENGLISH_BROWSER = {"Accept-Language": "en-US,en;q=0.9"}


def save(client, auth, **fields):  # type: ignore[no-untyped-def]
    data = {"csrf_token": auth.token("/account"), "locale": "", "timezone": ""} | fields
    return client.post("/account", data=data, headers=ENGLISH_BROWSER, follow_redirects=True)


def stored(st, user):  # type: ignore[no-untyped-def]
    with st.sessions() as session:
        audits = [(e.action, e.data) for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action.in_(("user.locale", "user.timezone")))
            .order_by(AuditEntry.id))]
        found = session.get(User, user.id)
        return found.locale, found.timezone, audits


def test_the_account_page_offers_the_languages(make, auth, client):
    editor = make.user("editor")
    auth.login(editor.email)
    page = client.get("/account", headers=ENGLISH_BROWSER).get_data(as_text=True)
    assert '<select id="locale" name="locale">' in page
    assert '<option selected value="">Follow my browser</option>' in page
    assert '<option value="en">English</option>' in page
    assert '<option value="zh_Hans_CN">简体中文</option>' in page


def test_choosing_chinese_wins_over_an_english_browser_and_clearing_follows_it_again(
        st, make, auth, client):
    editor = make.user("editor")
    auth.login(editor.email)
    answer = save(client, auth, locale="zh_Hans_CN")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 200 and '<html lang="zh-CN">' in text
    assert "<h1>我的账户</h1>" in text and "Your settings are saved." not in text
    assert stored(st, editor) == ("zh_Hans_CN", None, [("user.locale", {"old": None, "new": "zh_Hans_CN"})])
    assert '<html lang="zh-CN">' in client.get("/", headers=ENGLISH_BROWSER).get_data(as_text=True)

    english = save(client, auth, locale="en").get_data(as_text=True)
    assert '<html lang="en">' in english and "Your settings are saved." in english
    save(client, auth, locale="")
    assert stored(st, editor)[0] is None
    follows = client.get("/account", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert '<html lang="zh-CN">' in follows
    assert '<html lang="en">' in client.get("/account", headers=ENGLISH_BROWSER).get_data(as_text=True)


@pytest.mark.parametrize("code", ["fr", "zh-TW", "../../etc/passwd"])
def test_an_unknown_language_is_refused_and_nothing_is_written(st, make, auth, client, code):
    editor = make.user("editor")
    auth.login(editor.email)
    answer = save(client, auth, locale=code, timezone="Europe/Berlin")
    assert answer.status_code == 422
    assert f"unknown language {code!r}; choose one of en, zh_Hans_CN" in answer.get_data(
        as_text=True).replace("&#39;", "'")
    assert stored(st, editor) == (None, None, [])  # the valid timezone was not saved either


def test_the_api_shows_and_sets_the_language(st, make, api):
    editor = make.user("editor")
    assert api.call("GET", "/me", editor).json["locale"] is None
    answer = api.call("PATCH", "/me", editor, json={"locale": "zh_Hans_CN"})
    assert answer.status_code == 200, answer.json
    assert (answer.json["locale"], answer.json["timezone"]) == ("zh_Hans_CN", None)
    assert api.call("GET", "/me", editor).json["locale"] == "zh_Hans_CN"
    both = api.call("PATCH", "/me", editor, json={"timezone": "Europe/Berlin"}).json
    assert (both["locale"], both["timezone"]) == ("zh_Hans_CN", "Europe/Berlin")  # locale kept
    assert api.call("PATCH", "/me", editor, json={"locale": None}).json["locale"] is None
    assert [action for action, _data in stored(st, editor)[2]] == [
        "user.locale", "user.timezone", "user.locale"]


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"locale": "klingon", "timezone": "Europe/Berlin"}, "locale", "unknown language 'klingon'"),
    ({"locale": "en", "timezone": "Mars/Olympus"}, "timezone", "unknown timezone 'Mars/Olympus'"),
    ({"locale": 7}, "locale", "Input should be a valid string"),
    ({"language": "en"}, "language", "Extra inputs are not permitted"),
])
def test_the_api_refuses_bad_settings_and_writes_nothing(st, make, api, body, field, message):
    editor = make.user("editor")
    answer = api.call("PATCH", "/me", editor, json=body)
    assert answer.status_code == 422
    assert answer.json["error"]["fields"][field].startswith(message), answer.json
    assert stored(st, editor) == (None, None, [])
