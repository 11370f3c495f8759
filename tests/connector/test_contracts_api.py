"""The contracts a run leaves, as the REST API shows them (``/api/synchronization-contracts``).

A contract ties a source record (``originId``) to the object it became (``targetId``),
with the hashes and times that decide whether the next run skips it. Operators read
them to answer "where did this record go?"; these tests check the list (paging,
filters), one contract by id or uuid, and a synchronisation's contracts.
"""

from __future__ import annotations

from typing import Any

import pytest

OC = "/index.php/apps/openconnector/api"


@pytest.fixture
def synced(client, context, make_dcat, fake_api) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    make_dcat(context)
    source = client.post(
        f"{OC}/sources", json={"name": "Fake", "type": "api", "location": fake_api.url}
    ).json()
    mapping = client.post(f"{OC}/mappings", json={"name": "m", "mapping": {"title": "{{ name }}"}}).json()
    sync = client.post(
        f"{OC}/synchronizations",
        json={
            "name": "Records",
            "sourceId": source["id"],
            "sourceTargetMapping": mapping["id"],
            "sourceConfig": {"endpoint": "/paged/page?pageSize=10"},
            "targetId": "dcat/dataset",
        },
    ).json()
    log = client.post(f"{OC}/synchronizations/{sync['uuid']}/run").json()
    assert log["result"]["objects"]["created"] == 45, log
    return sync


def test_the_list_pages_through_every_contract_in_order(client, synced):
    first = client.get(f"{OC}/synchronization-contracts", params={"limit": 20}).json()
    assert first["pagination"] == {"page": 1, "pages": 3, "results": 20, "total": 45}
    third = client.get(f"{OC}/synchronization-contracts", params={"_limit": 20, "_offset": 40}).json()
    assert third["pagination"] == {"page": 3, "pages": 3, "results": 5, "total": 45}
    ids = [c["id"] for c in first["results"]] + [c["id"] for c in third["results"]]
    assert ids == sorted(ids) and len(set(ids)) == 25
    default = client.get(f"{OC}/synchronization-contracts").json()
    assert default["pagination"]["results"] == 20
    assert client.get(f"{OC}/synchronization-contracts", params={"limit": "ten"}).status_code == 400
    capped = client.get(f"{OC}/synchronization-contracts", params={"limit": 0, "offset": -5}).json()
    assert capped["pagination"]["results"] == 1 and capped["pagination"]["page"] == 1


def test_a_contract_says_where_a_record_went(client, synced):
    page = client.get(
        f"{OC}/synchronization-contracts", params={"synchronizationId": synced["uuid"], "originId": "7"}
    ).json()
    assert page["pagination"]["total"] == 1
    (contract,) = page["results"]
    obj = client.get(f"/index.php/apps/openregister/api/objects/dcat/dataset/{contract['targetId']}").json()
    assert obj["title"] == "Record 7"
    assert contract["synchronizationId"] == synced["uuid"]
    assert contract["originId"] == "7"
    assert len(contract["originHash"]) == 32 and len(contract["mappingHash"]) == 32
    for key in ("uuid", "created", "updated", "sourceLastChecked", "targetLastSynced"):
        assert contract[key], key
    for key in ("targetHash", "targetLastAction", "sourceLastChanged", "sourceLastSynced"):
        assert key in contract, key
    by_target = client.get(
        f"{OC}/synchronization-contracts", params={"targetId": contract["targetId"]}
    ).json()
    assert [c["id"] for c in by_target["results"]] == [contract["id"]]
    for ref in (contract["id"], contract["uuid"]):
        assert client.get(f"{OC}/synchronization-contracts/{ref}").json() == contract
    missing = client.get(f"{OC}/synchronization-contracts/999999")
    assert missing.status_code == 404 and missing.json() == {"error": "Contract not found"}
    none = client.get(f"{OC}/synchronization-contracts", params={"originId": "no-such-record"}).json()
    assert none["results"] == [] and none["pagination"] == {"page": 1, "pages": 1, "results": 0, "total": 0}


def test_a_synchronisations_contracts_by_its_name_or_uuid(client, synced):
    for ref in (synced["uuid"], synced["id"]):
        contracts = client.get(f"{OC}/synchronizations/contracts/{ref}").json()
        assert len(contracts) == 45
        assert sorted(int(c["originId"]) for c in contracts) == list(range(1, 46))
        assert {c["synchronizationId"] for c in contracts} == {synced["uuid"]}


def test_a_contract_says_whether_its_record_was_created_or_updated(client, synced, fake_api):
    def contract(origin: str) -> dict[str, Any]:
        params = {"synchronizationId": synced["uuid"], "originId": origin}
        (found,) = client.get(f"{OC}/synchronization-contracts", params=params).json()["results"]
        return found

    before = contract("7")
    assert before["targetLastAction"] == "create"
    fake_api.records[6]["name"] = "Record 7, renamed"
    log = client.post(f"{OC}/synchronizations/{synced['uuid']}/run").json()
    assert log["result"]["objects"]["updated"] == 1
    after = contract("7")
    assert after["targetLastAction"] == "update" and after["targetId"] == before["targetId"]
    assert after["originHash"] != before["originHash"]
    assert contract("8")["targetLastAction"] == "create"
