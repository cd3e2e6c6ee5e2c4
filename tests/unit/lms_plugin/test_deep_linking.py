"""Deep-linking requests are mapped at the edge; the response carries what the platform needs, and only that."""

from datetime import UTC, datetime
from typing import Any

import pytest

from content import load_default_module
from lms_plugin.lti import claims
from lms_plugin.lti.deep_linking import DeepLinkRequest, ResourceLink, deep_link_request, response_claims
from lms_plugin.lti.errors import LaunchRefusedError
from lms_plugin.services.deep_linking import placeables

LIS = "http://purl.imsglobal.org/vocab/lis/v2/"
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _payload(**settings: Any) -> dict[str, Any]:
    return {
        "iss": "https://lms.example.edu",
        "sub": "u-1",
        claims.ROLES: [LIS + "membership#Instructor"],
        claims.DEPLOYMENT_ID: 3,  # Moodle sends a number
        claims.DEEP_LINKING_SETTINGS: {
            "deep_link_return_url": "https://lms.example.edu/dl/return",
            "accept_types": ["ltiResourceLink"],
            **settings,
        },
    }


def test_a_request_maps_to_what_the_answer_needs() -> None:
    request = deep_link_request(_payload(accept_multiple="false", data="opaque"), "client-7")
    assert request.deployment_id == "3"
    assert request.return_url == "https://lms.example.edu/dl/return"
    assert request.accept_multiple is False
    assert (request.data, request.has_data) == ("opaque", True)


def test_a_learner_is_refused_with_403() -> None:
    payload = _payload()
    payload[claims.ROLES] = [LIS + "membership#Learner"]
    with pytest.raises(LaunchRefusedError) as refused:
        deep_link_request(payload, "client-7")
    assert refused.value.status == 403


@pytest.mark.parametrize(
    "settings",
    [{"deep_link_return_url": None}, {"deep_link_return_url": "javascript:alert(1)"}, {"accept_types": ["link"]}],
)
def test_a_request_the_tool_cannot_answer_is_refused(settings: dict[str, Any]) -> None:
    with pytest.raises(LaunchRefusedError):
        deep_link_request(_payload(**settings), "client-7")


def _request(**changes: Any) -> DeepLinkRequest:
    base = DeepLinkRequest(
        issuer="https://lms.example.edu", client_id="client-7", deployment_id="3", sub="u-1", return_url="https://x"
    )
    return DeepLinkRequest(**{**base.to_json(), **changes})


def test_the_response_is_from_the_tool_to_the_platform_and_omits_data_it_was_not_given() -> None:
    link = ResourceLink("quiz-1", "Quiz", score_maximum=4, resource_id="m/quiz-1", tag="tracebook")
    sent = response_claims(_request(), [link], "https://tool/lti/launch", NOW)
    assert (sent["iss"], sent["aud"], sent[claims.DEPLOYMENT_ID]) == ("client-7", "https://lms.example.edu", "3")
    assert sent[claims.MESSAGE_TYPE] == claims.DEEP_LINKING_RESPONSE
    assert claims.DL_DATA not in sent
    assert sent[claims.DL_CONTENT_ITEMS][0]["lineItem"] == {
        "scoreMaximum": 4,
        "label": "Quiz",
        "resourceId": "m/quiz-1",
        "tag": "tracebook",
    }


def test_no_line_items_go_to_a_platform_that_does_not_accept_them() -> None:
    link = ResourceLink("quiz-1", "Quiz", score_maximum=4)
    sent = response_claims(_request(accept_line_items=False), [link], "https://tool/lti/launch", NOW)
    assert "lineItem" not in sent[claims.DL_CONTENT_ITEMS][0]


def test_gradable_placeables_are_the_quizzes_the_test_and_the_whole_module() -> None:
    module = load_default_module()
    graded = {p.link.unit: p.link.score_maximum for p in placeables(module) if p.graded}
    assert graded == {"module": 15, "module-test": 15, **{q.id: len(q.questions) for q in module.quizzes}}
