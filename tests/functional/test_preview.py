"""The preview pages over real HTTP: every unit renders, answer keys never reach the browser."""

from flask.testing import FlaskClient
from markupsafe import escape

from content import Module


def test_the_home_page_leads_to_the_module_overview(client: FlaskClient, module: Module) -> None:
    response = client.get("/", follow_redirects=True)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert module.title in page
    for lesson in module.lessons:
        assert f'href="/preview/lessons/{lesson.id}"' in page
    assert f'href="/preview/assessments/{module.test.id}"' in page


def test_every_unit_page_renders(client: FlaskClient, module: Module) -> None:
    paths = [f"/preview/lessons/{lesson.id}" for lesson in module.lessons]
    paths += [f"/preview/assessments/{a.id}" for a in (*module.quizzes, module.test)]
    paths += [f"/preview/labs/{lab.id}" for lab in module.labs]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_a_lesson_page_carries_the_lessons_own_rendering(client: FlaskClient, module: Module) -> None:
    page = client.get("/preview/lessons/lesson-1").get_data(as_text=True)
    assert "Module 3 · Lesson 1" in page
    assert '<figure class="trace-tree">' in page
    assert '<aside class="box box-takeaway"' in page


def test_question_pages_show_stems_and_options_but_no_answer_key(client: FlaskClient, module: Module) -> None:
    for assessment in (*module.quizzes, module.test):
        page = client.get(f"/preview/assessments/{assessment.id}").get_data(as_text=True)
        for question in assessment.questions:
            assert escape(question.stem) in page
            assert escape(question.feedback.correct) not in page
            assert escape(question.feedback.incorrect) not in page
            for option in question.options:
                assert escape(option.text) in page
                assert option.source is None or escape(option.source) not in page
        assert "data-correct" not in page


def test_unknown_pages_are_clear_404s_in_html_and_json(client: FlaskClient) -> None:
    page = client.get("/preview/lessons/lesson-9")
    assert page.status_code == 404
    assert "There is no lesson &#39;lesson-9&#39; in this module." in page.get_data(as_text=True)
    api = client.get("/preview/labs/lab-9", headers={"Accept": "application/json"})
    assert api.status_code == 404
    assert api.get_json() == {"error": "Not Found", "message": "There is no lab 'lab-9' in this module."}
