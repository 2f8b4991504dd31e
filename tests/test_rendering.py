from planner.rendering import markdown_to_html


def test_markdown_is_rendered_and_sanitised():
    html = markdown_to_html(
        "# Tip\n\nUse **f-strings**.\n\n```python\nprint(1)\n```\n\n"
        '<script>alert(1)</script><img src=x onerror=alert(1)>[x](javascript:alert(1)) '
        "[docs](https://docs.python.org)"
    )
    assert "<h1>Tip</h1>" in html and "<strong>f-strings</strong>" in html
    assert "<pre><code" in html
    assert "<script" not in html and "onerror" not in html and "javascript:" not in html
    assert '<a href="https://docs.python.org" rel="noopener noreferrer nofollow">docs</a>' in html
