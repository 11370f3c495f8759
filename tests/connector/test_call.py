"""One request through ``CallService.call``: results, logs, retries, timeouts, rate limits."""

from __future__ import annotations

import socket
import time

import pytest

from openconnector.connector.call import MAX_LOGGED_BODY, CallService
from openconnector.errors import BadRequest, Conflict, SourceRejected, SourceUnavailable


def _closed_port_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


# -- results ------------------------------------------------------------------------------------


def test_pet_store_pets_are_fetched_as_a_bare_list(fake_api, calls):
    source = fake_api.source(name="Pet Store", location=fake_api.url + "/api/v3")

    result = calls.call(source, "/pet/findByStatus?status=available")

    pets = result.json()
    assert result.status_code == 200 and result.ok
    assert len(pets) == 8
    assert pets[0] == {
        "id": 1,
        "name": "Bella",
        "status": "available",
        "category": {"id": 1, "name": "Dogs"},
        "photoUrls": [],
        "tags": [],
    }
    assert result.url == f"{fake_api.url}/api/v3/pet/findByStatus?status=available"
    assert result.response_time_ms > 0


def test_renamed_pet_is_seen_on_the_next_call(fake_api, calls):
    source = fake_api.source(location=fake_api.url + "/api/v3")
    fake_api.rename_pet(1, "Bella II")
    fake_api.remove_pet(2)

    pets = calls.call(source, "/pet/findByStatus", query={"status": "available"}).json()

    assert [p["name"] for p in pets][:2] == ["Bella II", "Luna"]


def test_error_statuses_are_returned_not_raised(fake_api, calls):
    result = calls.call(fake_api.source(location=fake_api.url + "/api/v3"), "/pet/999")

    assert result.status_code == 404
    assert not result.ok
    assert result.json()["message"] == "Pet not found"
    with pytest.raises(SourceRejected, match=r"GET .*/api/v3/pet/999 returned 404 Not Found"):
        result.raise_for_status()


def test_post_sends_json_and_returns_the_created_object(fake_api, calls):
    source = fake_api.source(location=fake_api.url + "/api/v3")

    created = calls.call(source, "/pet", "POST", json={"name": "Kiki", "category": {"name": "Cats"}}).json()

    assert created["name"] == "Kiki"
    assert fake_api.pet(created["id"])["category"] == {"id": 2, "name": "Cats"}


def test_invalid_json_raises_source_rejected_with_url_and_position(fake_api, calls):
    result = calls.call(fake_api.source(), "/faults/invalid-json")

    with pytest.raises(
        SourceRejected, match=r"invalid JSON at http://127\.0\.0\.1:\d+/faults/invalid-json: .*char"
    ):
        result.json()


def test_call_result_repr_shows_status_and_url_only(fake_api, calls):
    result = calls.call(fake_api.source(), "/echo")

    assert repr(result) == f"<CallResult 200 GET {fake_api.url}/echo>"


# -- configuration ------------------------------------------------------------------------------


def test_configuration_headers_and_query_are_sent_with_every_call(fake_api, calls):
    source = fake_api.source(
        configuration={"headers": {"Accept": "application/json"}, "query": {"lang": "nl"}}
    )

    echoed = calls.call(source, "/echo?page=2", query={"size": 5}).json()

    assert echoed["headers"]["accept"] == "application/json"
    assert echoed["query"] == {"lang": "nl", "page": "2", "size": "5"}


def test_call_headers_override_configuration_headers_whatever_their_case(fake_api, calls):
    source = fake_api.source(configuration={"headers": {"Accept": "application/xml"}})

    echoed = calls.call(source, "/echo", headers={"accept": "application/json"}).json()

    assert echoed["headers"]["accept"] == "application/json"


def test_dotted_configuration_keys_are_expanded(fake_api, calls):
    source = fake_api.source(configuration={"headers.X-Tenant": "gemeente", "query.lang": "nl"})

    echoed = calls.call(source, "/echo").json()

    assert echoed["headers"]["x-tenant"] == "gemeente"
    assert echoed["query"] == {"lang": "nl"}


def test_disabled_source_is_refused_with_a_409_call_log(fake_api, calls):
    source = fake_api.source(isEnabled=False)

    with pytest.raises(Conflict, match="This source is not enabled"):
        calls.call(source, "/echo")

    assert fake_api.requests == []
    assert calls.logs[-1]["statusCode"] == 409
    assert calls.logs[-1]["statusMessage"] == "This source is not enabled"
    assert calls.logs[-1]["request"] is None and calls.logs[-1]["response"] is None


def test_source_without_location_is_refused_with_a_clear_message(calls):
    with pytest.raises(Conflict, match="This source has no location: set the location of source"):
        calls.call({"name": "Nowhere", "location": ""}, "/pets")
    assert calls.logs[-1]["statusMessage"] == "This source has no location"


def test_bad_timeout_setting_is_a_bad_request(fake_api, calls):
    with pytest.raises(BadRequest, match='configuration.timeout must be a number, not "soon"'):
        calls.call(fake_api.source(configuration={"timeout": "soon"}), "/echo")


# -- call logs ----------------------------------------------------------------------------------


def test_every_call_is_logged_with_request_and_response(fake_api, calls):
    calls.call(fake_api.source(id=42), "/echo", query={"q": "x"})

    (log,) = calls.logs
    assert set(log) >= {"uuid", "statusCode", "statusMessage", "request", "response", "sourceId", "created"}
    assert log["statusCode"] == 200 and log["statusMessage"] == "OK"
    assert log["sourceId"] == 42
    assert log["created"].endswith("+00:00")
    assert log["request"]["method"] == "GET"
    assert log["request"]["url"] == f"{fake_api.url}/echo?q=x"
    response = log["response"]
    assert response["statusCode"] == 200
    assert response["responseTime"] > 0
    assert response["size"] > 0
    assert response["headers"]["content-type"] == ["application/json"]
    assert "body" not in response  # success bodies are logged only with logBody


def test_error_bodies_are_logged_and_success_bodies_only_with_log_body(fake_api, calls):
    calls.call(fake_api.source(), "/echo", query={"status": 400})
    calls.call(fake_api.source(configuration={"logBody": True}), "/echo")

    assert '"method":"GET"' in calls.logs[0]["response"]["body"]
    assert calls.logs[1]["response"]["body"].startswith("{")


def test_logged_bodies_are_cut_at_64_kib(fake_api, calls):
    calls.call(
        fake_api.source(), "/echo?status=500", "POST", body="x" * (MAX_LOGGED_BODY * 2), config={"retries": 0}
    )

    response = calls.logs[-1]["response"]
    assert len(response["body"].encode()) == MAX_LOGGED_BODY
    assert response["truncated"] is True
    assert response["size"] > MAX_LOGGED_BODY * 2


def test_a_failing_log_sink_does_not_fail_the_call(fake_api):
    def broken_sink(log):
        raise RuntimeError("database is locked")

    with CallService(log_sink=broken_sink) as service:
        assert service.call(fake_api.source(), "/echo").status_code == 200


# -- retries ------------------------------------------------------------------------------------


def test_5xx_is_retried_with_exponential_backoff_and_full_jitter(fake_api, calls):
    result = calls.call(fake_api.source(), "/faults/flaky?times=2&status=503")

    assert result.status_code == 200
    assert fake_api.hits("/faults/flaky") == 3
    assert len(calls.sleeps) == 2
    assert 0 <= calls.sleeps[0] <= 0.5 and 0 <= calls.sleeps[1] <= 1.0
    assert [log["attempt"] for log in calls.logs] == [1, 2, 3]
    assert [log["statusCode"] for log in calls.logs] == [503, 503, 200]


def test_backoff_is_capped(fake_api):
    delays: list[float] = []
    service = CallService(sleep=delays.append, jitter=lambda: 1.0)
    config = {"retries": 6, "backoff": 1, "backoffMax": 4}

    service.call(fake_api.source(), "/faults/flaky?times=6&status=502", config=config)

    assert delays == [1, 2, 4, 4, 4, 4]


def test_exhausted_retries_return_the_last_error_response(fake_api, calls):
    result = calls.call(fake_api.source(), "/faults/flaky?times=10&status=500")

    assert result.status_code == 500
    assert fake_api.hits("/faults/flaky") == 4  # 1 + 3 retries
    with pytest.raises(SourceUnavailable, match="returned 500 Internal Server Error"):
        result.raise_for_status()


def test_retries_can_be_switched_off(fake_api, calls):
    calls.call(fake_api.source(configuration={"retries": 0}), "/faults/flaky?times=1")

    assert fake_api.hits("/faults/flaky") == 1


def test_post_is_not_retried_on_5xx_because_it_may_have_been_processed(fake_api, calls):
    result = calls.call(fake_api.source(), "/faults/flaky?times=1", "POST", json={"name": "Kiki"})

    assert result.status_code == 503
    assert fake_api.hits("/faults/flaky") == 1


def test_retry_after_is_honoured(fake_api, calls):
    result = calls.call(fake_api.source(), "/faults/retry-after?times=2&seconds=3")

    assert result.status_code == 200
    assert calls.sleeps == [3.0, 3.0]


def test_retry_after_as_http_date_is_honoured(fake_api, calls):
    calls.now = time.time()
    result = calls.call(fake_api.source(), "/faults/retry-after?times=1&seconds=20&date=1")

    assert result.status_code == 200
    (delay,) = calls.sleeps
    assert 17 <= delay <= 21


def test_retry_after_longer_than_max_wait_returns_429_with_retry_at(fake_api, calls):
    result = calls.call(fake_api.source(), "/faults/retry-after?times=5&seconds=600")

    assert result.status_code == 429
    assert calls.sleeps == []
    with pytest.raises(SourceUnavailable) as error:
        result.raise_for_status()
    assert error.value.details["retry_at"] == pytest.approx(calls.now + 600, abs=2)


def test_429_is_retried_even_for_post(fake_api, calls):
    result = calls.call(fake_api.source(), "/faults/retry-after?times=1&seconds=1", "POST", json={})

    assert result.ok


def test_unreachable_source_is_retried_then_raises_source_unavailable(calls):
    source = {"name": "Down", "location": _closed_port_url()}

    with pytest.raises(
        SourceUnavailable, match=r"GET http://127\.0\.0\.1:\d+/pets failed after 4 attempts: ConnectError"
    ):
        calls.call(source, "/pets")

    assert len(calls.sleeps) == 3
    assert [log["statusCode"] for log in calls.logs] == [503] * 4
    assert "ConnectError" in calls.logs[0]["response"]["body"]


def test_slow_source_times_out_for_real(fake_api):
    service = CallService()
    source = fake_api.source(configuration={"timeout": 0.3, "retries": 0})
    started = time.perf_counter()

    with pytest.raises(SourceUnavailable, match="failed: ReadTimeout"):
        service.call(source, "/faults/slow?seconds=3")

    assert time.perf_counter() - started < 2


# -- rate limits --------------------------------------------------------------------------------


def test_rate_limit_headers_are_kept_on_the_source_and_reported(fake_api, calls):
    fake_api.rate_limit(limit=5, reset_in=30)
    source = fake_api.source()

    calls.call(source, "/ratelimit")

    assert source["rateLimitLimit"] == 5
    assert source["rateLimitRemaining"] == 4
    assert source["rateLimitReset"] == fake_api.limits["reset"]
    assert calls.states[-1] == {
        "rateLimitLimit": 5,
        "rateLimitRemaining": 4,
        "rateLimitReset": fake_api.limits["reset"],
        "rateLimitWindow": None,
    }


def test_exhausted_rate_limit_waits_until_the_reset_when_it_is_near(fake_api, calls):
    fake_api.rate_limit(limit=1, reset_in=20)
    source = fake_api.source()
    calls.call(source, "/ratelimit")  # uses the last call of the window
    assert source["rateLimitRemaining"] == 0
    fake_api.rate_limit(limit=1)  # the server's new window

    result = calls.call(source, "/ratelimit")

    assert result.ok
    (wait,) = calls.sleeps
    assert 15 <= wait <= 21


def test_exhausted_rate_limit_refuses_with_a_429_log_when_the_reset_is_far(fake_api, calls):
    reset = int(calls.now) + 3600
    source = fake_api.source(rateLimitRemaining=0, rateLimitReset=reset)

    with pytest.raises(SourceUnavailable, match="The rate limit for this source has been exceeded") as error:
        calls.call(source, "/ratelimit")

    assert error.value.details["retry_at"] == reset
    assert fake_api.requests == []
    assert calls.logs[-1]["statusCode"] == 429
    assert (
        calls.logs[-1]["statusMessage"]
        == "The rate limit for this source has been exceeded. Try again later."
    )


def test_passed_rate_limit_reset_clears_the_window(fake_api, calls):
    source = fake_api.source(rateLimitRemaining=0, rateLimitReset=int(calls.now) - 5)

    assert calls.call(source, "/echo").ok
    assert source["rateLimitRemaining"] is None and source["rateLimitReset"] is None


def test_rate_limit_window_without_headers_counts_down_like_the_original(fake_api, calls):
    source = fake_api.source(rateLimitLimit=2, rateLimitWindow=60)

    calls.call(source, "/echo")
    calls.call(source, "/echo")

    assert source["rateLimitRemaining"] == 0
    assert source["rateLimitReset"] == int(calls.now) + 60
    with pytest.raises(SourceUnavailable, match="rate limit"):
        calls.call(source, "/echo", config={"maxRateLimitWait": 10})


# -- test() -------------------------------------------------------------------------------------


def test_source_test_returns_the_call_log_with_a_pretty_body(fake_api, calls):
    log = calls.test(fake_api.source(location=fake_api.url + "/api/v3"), "/pet/1")

    assert log["ok"] is True
    assert log["statusCode"] == 200
    assert log["response"]["body"].startswith('{\n  "id": 1,')


def test_source_test_sends_a_raw_body_with_the_content_type_of_its_type(fake_api, calls):
    log = calls.test(fake_api.source(), "/echo", "POST", body="<pet/>", type="xml")

    echoed = log["response"]["body"]
    assert '"content-type": "application/xml"' in echoed
    assert '"body": "<pet/>"' in echoed


def test_source_test_reports_remote_errors_without_raising(fake_api, calls):
    log = calls.test(fake_api.source(), "/faults/flaky?times=1&status=502")

    assert log["ok"] is False
    assert log["statusCode"] == 502
    assert fake_api.hits("/faults/flaky") == 1  # one attempt: the user is waiting


def test_source_test_of_a_disabled_source_returns_the_409_log(fake_api, calls):
    log = calls.test(fake_api.source(isEnabled=False))

    assert log["statusCode"] == 409
    assert log["statusMessage"] == "This source is not enabled"
    assert log["ok"] is False


def test_source_test_of_an_unreachable_source_returns_a_503_log(calls):
    log = calls.test({"name": "Down", "location": _closed_port_url()}, "/x")

    assert log["statusCode"] == 503
    assert "ConnectError" in log["response"]["body"]
    assert log["ok"] is False


def test_source_test_of_incomplete_auth_settings_returns_a_400_log(fake_api, calls):
    log = calls.test(fake_api.source(auth="basic", authenticationConfig={"username": "alice"}), "/auth/basic")

    assert log["statusCode"] == 400
    assert "lacks: password" in log["statusMessage"]
