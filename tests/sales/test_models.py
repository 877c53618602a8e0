"""Sales' models: every JSON example of the reference loads verbatim; wrong types name the field."""

from __future__ import annotations

import json

import pytest

from tests.seed_examples import SEED, example, examples, extract
from zapp.sales import models
from zapp.sales.models import InvalidAnswer, load_envelope, load_list

ANSWERS = [name for name, item in examples().items() if item["model"] not in ("request", "lifecycle")]


def _load(name: str):
    model = examples()[name]["model"]
    value = example(name)
    if model == "envelope":
        return load_envelope(value)
    if model.startswith("["):
        return load_list(getattr(models, model.strip("[]")), value)
    return getattr(models, model).load(value)


@pytest.mark.parametrize("name", ANSWERS)
def test_every_seed_answer_loads_verbatim(name):
    loaded = _load(name)
    assert json.loads(json.dumps(loaded)) == example(name)  # nothing dropped, nothing changed


def test_the_fixture_is_what_the_reference_prints():
    if not SEED.exists():
        pytest.skip("the reference is not beside this checkout")
    extracted = [value for _first, _last, value in extract(SEED.read_text("utf-8"))]
    assert extracted == [item["example"] for item in examples().values()]


def test_the_examples_cover_every_documented_answer_shape():
    names = set(ANSWERS)
    for wanted in ("lead_response", "prospect", "prospects_list", "prospect_search", "interactions_list",
                   "integration", "agents", "groups", "online_agents", "transfer_targets",
                   "webhook_prospects", "webhook_interactions", "webhook_agents"):  # fmt: skip
        assert wanted in names


def test_loaded_objects_are_typed_and_keep_unknown_fields():
    value = example("prospect")
    value["somethingNew"] = {"x": 1}
    prospect = models.Prospect.load(value)
    assert isinstance(prospect.agent, models.Agent)
    assert isinstance(prospect.leads[0], models.LeadData)
    assert prospect.leads[0].priority == 0
    assert prospect.group == "string" and prospect.groupId == "507f191e810c19729de860ea"
    assert prospect["somethingNew"] == {"x": 1}


def test_the_webhook_summary_agent_is_an_array():
    envelope = load_envelope(example("webhook_prospects"))
    summary = envelope.prospect[0]
    assert isinstance(summary, models.ProspectSummary)
    assert isinstance(summary.agent, list) and isinstance(summary.agent[0], models.SummaryAgent)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"group": {"id": "507f191e810c19729de860ea", "name": "x"}}, "group"),
        ({"assigned": True}, "assigned"),
        ({"absenceMessage": False}, "absenceMessage"),
        ({"agent": [{"id": "507f191e810c19729de860ea"}]}, "agent"),
        ({"leads": [{"priority": "high"}]}, "leads[0].priority"),
        ({"sentWorkingHourMessage": False}, "sentWorkingHourMessage"),
        ({"id": "NOT-AN-ID"}, "id"),
    ],
)
def test_a_wrong_type_is_an_error_naming_the_field(change, field):
    value = {**example("prospect"), **change}
    with pytest.raises(InvalidAnswer) as raised:
        models.Prospect.load(value, where="GET /prospect/x")
    assert raised.value.field == field
    assert field in str(raised.value) and "GET /prospect/x" in str(raised.value)


def test_an_integration_user_object_is_refused():
    value = {**example("integration"), "user": {"id": "507f191e810c19729de860ea"}}
    with pytest.raises(InvalidAnswer, match="user"):
        models.Integration.load(value)


def test_a_list_names_the_item_that_is_wrong():
    items = example("interactions_list") + example("interactions_list")
    items[1]["output"]["message"]["delivered"] = "yes"
    with pytest.raises(InvalidAnswer) as raised:
        load_list(models.Interaction, items)
    assert raised.value.field == "[1].output.message.delivered"


def test_an_unknown_topic_is_refused():
    with pytest.raises(InvalidAnswer):
        load_envelope({**example("webhook_agents"), "topic": "invented"})
