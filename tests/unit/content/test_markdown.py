"""Lesson Markdown renders safely and keeps its structures."""

from content.markdown import code_blocks, render_markdown


def test_raw_html_and_javascript_links_are_not_rendered() -> None:
    html = render_markdown("<script>alert(1)</script>\n\n[click](javascript:alert(1)) <img src=x onerror=alert(1)>")
    assert "<script>" not in html
    assert "<img" not in html
    assert 'href="javascript:' not in html
    assert "&lt;script&gt;" in html


def test_boxes_render_with_their_titles() -> None:
    html = render_markdown("::: callout Practical Recommendation\nKeep error traces.\n:::\n")
    assert '<aside class="box box-callout" aria-label="Practical Recommendation">' in html
    assert '<p class="box-title">Practical Recommendation</p>' in html
    assert "<p>Keep error traces.</p>" in html


def test_trace_trees_are_preformatted_figures_and_tables_scroll() -> None:
    html = render_markdown("```tree\nTRACE\n├─ span <a>\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert '<figure class="trace-tree"><pre>TRACE\n├─ span &lt;a&gt;\n</pre></figure>' in html
    assert '<div class="table-wrap"><table>' in html


def test_code_blocks_can_be_filtered_by_language() -> None:
    text = "```python\nx = 1\n```\n\n```tree\nT\n```\n"
    assert [b.code for b in code_blocks(text, "python")] == ["x = 1\n"]
    assert [b.language for b in code_blocks(text)] == ["python", "tree"]
