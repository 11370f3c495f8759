"""Detail calls per record (``extraDataConfigs``) against the fake API's summaries and
details: merged in, concurrent within the source's bound, only for changed list
entries, and a failing detail call makes one record invalid, not the run."""

from __future__ import annotations

import time

import pytest

from openconnector import ObjectService, SynchronizationService


@pytest.fixture
def objects(context, make_dcat):
    make_dcat(context, value={"type": "integer"})
    return ObjectService(context)


def _save(objects, schema, data):
    return objects.save_object(object=data, register="openconnector", schema=schema)


def _source(objects, fake_api, **configuration):
    return _save(
        objects,
        "source",
        {
            "name": "Case system",
            "type": "api",
            "location": fake_api.url,
            "isEnabled": True,
            "configuration": {"retries": 0, **configuration},
        },
    )


def _sync(objects, source, extra, mapping=None):
    if mapping is None:
        mapping = _save(
            objects,
            "mapping",
            {
                "name": "Summary + detail",
                "mapping": {"title": "{{ name }}", "description": "description", "value": "value"},
            },
        )
    return _save(
        objects,
        "synchronization",
        {
            "name": "zaken",
            "sourceId": source["id"],
            "sourceTargetMapping": mapping["id"],
            "sourceConfig": {
                "endpoint": "/summaries",
                "resultsPosition": "results",
                "extraDataConfigs": extra,
            },
            "targetId": "dcat/dataset",
        },
    )


def _datasets(objects):
    return {o["title"]: o for o in objects.find_all("dcat", "dataset", limit=1000)["results"]}


def test_500_summaries_get_their_details_concurrently_and_a_rerun_calls_only_for_changed_ones(
    objects, fake_api
):
    fake_api.set_records(500)
    source = _source(objects, fake_api, detailConcurrency=16)
    sync = _sync(objects, source, [{"staticEndpoint": "/details/{{ originId }}"}])
    run = SynchronizationService().synchronize(sync["id"])
    assert run["status"] == "success", run["message"]
    assert run["result"]["objects"]["found"] == 500
    assert run["result"]["objects"]["created"] == 500
    assert fake_api.hits_under("/details/") == 500
    # bounded concurrency: more than one at a time, never more than the source allows
    assert 1 < fake_api.detail_max_in_flight <= 16
    datasets = _datasets(objects)
    assert datasets["Record 7"]["description"] == "About Record 7" and datasets["Record 7"]["value"] == 70

    for i in (3, 50, 150, 250, 499):
        fake_api.records[i - 1]["name"] = f"Renamed {i}"
    before = fake_api.hits_under("/details/")
    rerun = SynchronizationService().synchronize(sync["id"])
    assert fake_api.hits_under("/details/") - before == 5
    assert rerun["result"]["objects"] | {} == {
        "found": 500,
        "skipped": 495,
        "created": 0,
        "updated": 5,
        "deleted": 0,
        "invalid": 0,
    }
    assert _datasets(objects)["Renamed 250"]["description"] == "About Renamed 250"


def test_the_default_bound_is_8(objects, fake_api):
    fake_api.set_records(40)
    source = _source(objects, fake_api)
    sync = _sync(objects, source, [{"staticEndpoint": "/details/{{originId}}"}])
    run = SynchronizationService().synchronize(sync["id"])
    assert run["result"]["objects"]["created"] == 40
    assert fake_api.detail_max_in_flight <= 8


def test_a_failing_detail_call_makes_that_record_invalid_and_it_is_retried_next_run(objects, fake_api):
    fake_api.set_records(20)
    fake_api.detail_delay = 0
    fake_api.detail_failures = {4, 9}
    source = _source(objects, fake_api)
    sync = _sync(objects, source, [{"staticEndpoint": "/details/{{ originId }}"}])
    run = SynchronizationService().synchronize(sync["id"])
    assert run["status"] == "warning"  # some records invalid, the rest written
    objects_count = run["result"]["objects"]
    assert objects_count["created"] == 18 and objects_count["invalid"] == 2
    reasons = {r["originId"]: r["reason"] for r in run["result"]["invalid"]}
    assert set(reasons) == {"4", "9"}
    assert "/details/4" in reasons["4"] and "500" in reasons["4"]

    fake_api.detail_failures = set()
    rerun = SynchronizationService().synchronize(sync["id"])
    assert rerun["result"]["objects"]["created"] == 2 and rerun["result"]["objects"]["skipped"] == 18


def test_details_under_a_key_from_a_dynamic_location_and_a_template(objects, fake_api):
    fake_api.set_records(3)
    fake_api.detail_delay = 0
    source = _source(objects, fake_api)
    mapping = _save(
        objects,
        "mapping",
        {
            "name": "nested",
            "mapping": {
                "title": "{{ name }}",
                "description": "{{ details.description }} / {{ again.description }}",
            },
        },
    )
    extra = [
        {"endpointTemplate": "/details/{{ object.id }}", "keyToSetExtraData": "details"},
        {"dynamicEndpointLocation": "details.self", "keyToSetExtraData": "again"},
    ]
    # the second config reads the URL ("self") the first one left in the record
    sync = _sync(objects, source, extra, mapping)
    run = SynchronizationService().synchronize(sync["id"])
    assert run["result"]["objects"]["created"] == 3
    assert _datasets(objects)["Record 2"]["description"] == "About Record 2 / About Record 2"

    sync2 = _save(
        objects,
        "synchronization",
        {
            "name": "absolute",
            "sourceId": source["id"],
            "sourceTargetMapping": mapping["id"],
            "sourceConfig": {
                "endpoint": "/summaries",
                "extraDataConfigs": [
                    {
                        "staticEndpoint": f"{fake_api.url}/details/{{{{ originId }}}}",
                        "keyToSetExtraData": "details",
                    },
                    {
                        "staticEndpoint": "/details/{{ originId }}",
                        "keyToSetExtraData": "details",
                        "mergeExtraData": True,
                    },
                ],
            },
            "targetId": "dcat/dataset",
        },
    )
    run2 = SynchronizationService().synchronize(sync2["id"])
    assert run2["result"]["objects"]["invalid"] == 0, run2["result"]["invalid"]


def test_a_bad_extra_data_config_is_one_clear_400(objects, fake_api):
    source = _source(objects, fake_api)
    sync = _sync(objects, source, [{"keyToSetExtraData": "x"}])
    from openconnector.errors import BadRequest

    with pytest.raises(BadRequest, match="staticEndpoint, dynamicEndpointLocation or endpointTemplate"):
        SynchronizationService().synchronize(sync["id"])


def test_per_result_recursion_fetches_details_for_each_item_of_a_detail_list(objects, fake_api):
    fake_api.set_records(3)
    fake_api.detail_delay = 0
    source = _source(objects, fake_api)
    mapping = _save(
        objects,
        "mapping",
        {
            "name": "related",
            "mapping": {
                "title": "{{ name }}",
                "description": "{% for r in related.results %}{{ r.detail.description }};{% endfor %}",
            },
        },
    )
    extra = [
        {
            "staticEndpoint": "/paged/next?size=2",
            "keyToSetExtraData": "related",
            "resultsLocation": "results",
            "extraDataConfigPerResult": {
                "staticEndpoint": "/details/{{ originId }}",
                "endpointIdLocation": "id",
                "keyToSetExtraData": "detail",
            },
        }
    ]
    run = SynchronizationService().synchronize(_sync(objects, source, extra, mapping)["id"])
    assert run["result"]["objects"]["created"] == 3, run["result"]
    assert _datasets(objects)["Record 3"]["description"] == "About Record 1;About Record 2;"
    assert fake_api.hits_under("/details/") == 6


def test_detail_calls_keep_to_the_sources_rate_limit(objects, fake_api):
    """10 calls per 2 s window: 25 records need three windows; calls wait for the reset
    (and the few sent concurrently past the limit are answered 429 and retried), so every
    record gets its details."""
    fake_api.set_records(25)
    fake_api.detail_delay = 0
    source = _source(objects, fake_api, retries=3)
    sync = _sync(objects, source, [{"staticEndpoint": "/limited/details/{{ originId }}"}])
    started = time.monotonic()
    run = SynchronizationService().synchronize(sync["id"])
    assert run["status"] == "success", run["result"]["invalid"]
    assert run["result"]["objects"]["created"] == 25
    assert fake_api.limited_answers[200] == 25
    assert time.monotonic() - started >= 2 * fake_api.window - 0.5  # it waited for the windows


def test_details_before_conditions_let_conditions_test_them_and_a_failure_deletes_nothing(objects, fake_api):
    fake_api.set_records(6)
    fake_api.detail_delay = 0
    source = _source(objects, fake_api)
    sync = _sync(objects, source, [{"staticEndpoint": "/details/{{ originId }}"}])
    objects.save_object(
        object={
            "conditions": {">": [{"var": "value"}, 30]},  # "value" is only in the details
            "sourceConfig": {**sync["sourceConfig"], "fetchExtraDataBeforeConditions": True},
        },
        register="openconnector",
        schema="synchronization",
        uuid=sync["id"],
        patch=True,
    )
    run = SynchronizationService().synchronize(sync["id"])
    assert run["result"]["objects"] | {} == {
        "found": 6,
        "skipped": 3,
        "created": 3,
        "updated": 0,
        "deleted": 0,
        "invalid": 0,
    }
    assert sorted(_datasets(objects)) == ["Record 4", "Record 5", "Record 6"]

    fake_api.detail_failures = {5}
    forced = SynchronizationService().synchronize(sync["id"], force=True)
    assert forced["result"]["objects"]["invalid"] == 1 and forced["result"]["objects"]["deleted"] == 0
    assert forced["result"]["invalid"][0]["originId"] == "5"
    assert "/details/5" in forced["result"]["invalid"][0]["reason"], forced["result"]["invalid"]
    assert "Record 5" in _datasets(objects)
